"""GRPO baseline: group-relative policy optimisation with execution rewards."""

from crucible.methods.grpo.plugin import GRPO

__all__ = ["GRPO"]
