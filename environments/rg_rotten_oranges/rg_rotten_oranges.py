"""rg-rotten-oranges: reasoning-gym's `rotten_oranges` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "rotten_oranges"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against RottenOrangesConfig."""
    return load_rg_environment(TASK, **kwargs)
