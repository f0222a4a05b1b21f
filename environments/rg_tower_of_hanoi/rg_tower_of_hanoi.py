"""rg-tower-of-hanoi: reasoning-gym's `tower_of_hanoi` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "tower_of_hanoi"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against HanoiConfig."""
    return load_rg_environment(TASK, **kwargs)
