"""Data files shipped with the package (the crucible-basic and crucible-steps suites and
their generators)."""
