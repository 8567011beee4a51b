"""What the jury learns between retrainings: a visitor's own corrections for that visitor (memory),
and corrections others confirmed for everyone (references)."""
