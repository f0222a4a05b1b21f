"""rg-rush-hour: reasoning-gym's `rush_hour` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "rush_hour"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against RushHourConfig."""
    return load_rg_environment(TASK, **kwargs)
