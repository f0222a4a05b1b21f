"""rg-knights-knaves: reasoning-gym's `knights_knaves` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "knights_knaves"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against KnightsKnavesConfig."""
    return load_rg_environment(TASK, **kwargs)
