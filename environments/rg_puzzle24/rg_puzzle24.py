"""rg-puzzle24: reasoning-gym's `puzzle24` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "puzzle24"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against Puzzle24Config."""
    return load_rg_environment(TASK, **kwargs)
