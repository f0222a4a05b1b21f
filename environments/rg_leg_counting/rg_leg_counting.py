"""rg-leg-counting: reasoning-gym's `leg_counting` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "leg_counting"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against LegCountingConfig."""
    return load_rg_environment(TASK, **kwargs)
