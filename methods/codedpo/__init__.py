"""CodeDPO: self-verified correctness and efficiency preference pairs, trained with DPO."""

from crucible.methods.codedpo.plugin import CodeDPO

__all__ = ["CodeDPO"]
