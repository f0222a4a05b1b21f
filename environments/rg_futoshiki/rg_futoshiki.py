"""rg-futoshiki: reasoning-gym's `futoshiki` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "futoshiki"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against FutoshikiConfig."""
    return load_rg_environment(TASK, **kwargs)
