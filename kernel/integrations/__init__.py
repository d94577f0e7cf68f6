"""Crucible as the reward of other RL frameworks: trl's ``GRPOTrainer`` (:mod:`.trl_reward`) and
verl's custom reward function (:mod:`.verl_reward`), on one scoring core (:mod:`.scoring`).

Neither module imports its framework: a trl reward function and a verl ``compute_score`` are
plain callables, so the adapters load (and are tested) without trl's or verl's trainers.
"""
