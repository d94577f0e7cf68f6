"""CodeDPO: self-verified correctness and efficiency preference pairs, trained with DPO."""

from methods.codedpo.plugin import CodeDPO

__all__ = ["CodeDPO"]
