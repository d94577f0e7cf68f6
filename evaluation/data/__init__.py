"""Data files shipped with the package (the crucible-basic suite and its generator)."""
