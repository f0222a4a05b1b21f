"""rg-number-filtering: reasoning-gym's `number_filtering` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "number_filtering"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against NumberFilteringConfig."""
    return load_rg_environment(TASK, **kwargs)
