"""`python -m sparkhelm` runs the CLI."""

from sparkhelm.cli import main

main()
