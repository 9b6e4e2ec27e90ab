"""`python -m sparkhelm` runs the CLI, as the console script does."""

from sparkhelm.cli import console

console()
