"""rg-ab: reasoning-gym's `ab` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "ab"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against ABConfig."""
    return load_rg_environment(TASK, **kwargs)
