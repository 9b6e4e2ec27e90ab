"""sparkhelm's benchmark suite: run `python -m benchmarks` (see benchmarks/__main__.py)."""
