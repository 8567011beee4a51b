"""`python -m bench` (`make bench`): every figure of README's table, measured here."""

from bench.run import main

main()
