"""Benchmarks and training suites as typed tasks, pass@k, and execution feedback for prompts."""
