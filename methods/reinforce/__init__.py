"""REINFORCE with a baseline: the simplest execution-feedback method (Williams 1992)."""

from crucible.methods.reinforce.plugin import Reinforce

__all__ = ["Reinforce"]
