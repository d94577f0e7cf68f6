"""RLTF: online reinforcement learning from unit-test feedback with coarse, fine-grained and
adaptive rewards, arXiv 2307.04349."""

from crucible.methods.rltf.plugin import RLTF

__all__ = ["RLTF"]
