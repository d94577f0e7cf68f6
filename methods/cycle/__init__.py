"""CYCLE: learning to self-refine code generation from execution feedback."""

from crucible.methods.cycle.plugin import Cycle

__all__ = ["Cycle"]
