"""rg-arc-agi: reasoning-gym's `arc_agi` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "arc_agi"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against ArcAgiConfig."""
    return load_rg_environment(TASK, **kwargs)
