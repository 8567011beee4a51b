"""The Hugging Face Hub: the one client (client), background loops (polling), deploying the Space
(deploy) and retraining there as a scheduled Job (jobs)."""
