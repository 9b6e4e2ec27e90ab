"""`python -m sparkhelm` runs the CLI, as the console script does."""

from sparkhelm.launch import main

main()
