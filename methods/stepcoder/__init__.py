"""StepCoder: PPO with a curriculum of code-completion subtasks (CCCS) and fine-grained
optimisation on executed lines (FGO), arXiv 2402.01391."""

from crucible.methods.stepcoder.plugin import StepCoder

__all__ = ["StepCoder"]
