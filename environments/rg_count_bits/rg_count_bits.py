"""rg-count-bits: reasoning-gym's `count_bits` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "count_bits"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against CountBitsConfig."""
    return load_rg_environment(TASK, **kwargs)
