"""rg-composite: reasoning-gym's `composite` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

DEFAULT_TASKS = ["leg_counting", "basic_arithmetic", "chain_sum"]


def load_environment(tasks=None, **kwargs):
    """A weighted mixture: tasks=[{"name": ..., "weight": ..., "config": {...}, "difficulty": ...}] or names."""
    return load_rg_environment(list(tasks or DEFAULT_TASKS), **kwargs)
