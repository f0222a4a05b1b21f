"""rg-number-sorting: reasoning-gym's `number_sorting` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "number_sorting"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against NumberSortingConfig."""
    return load_rg_environment(TASK, **kwargs)
