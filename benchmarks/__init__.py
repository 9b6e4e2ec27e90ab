"""Benchmarks of sparkhelm (run as modules: python -m benchmarks.NAME)."""
