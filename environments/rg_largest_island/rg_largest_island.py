"""rg-largest-island: reasoning-gym's `largest_island` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "largest_island"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against LargestIslandConfig."""
    return load_rg_environment(TASK, **kwargs)
