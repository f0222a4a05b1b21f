"""rg-list-functions: reasoning-gym's `list_functions` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "list_functions"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against ListFunctionsDatasetConfig."""
    return load_rg_environment(TASK, **kwargs)
