"""rg-arc-1d: reasoning-gym's `arc_1d` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "arc_1d"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against Arc1DConfig."""
    return load_rg_environment(TASK, **kwargs)
