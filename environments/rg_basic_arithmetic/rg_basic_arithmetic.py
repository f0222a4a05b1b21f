"""rg-basic-arithmetic: reasoning-gym's `basic_arithmetic` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "basic_arithmetic"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against BasicArithmeticDatasetConfig."""
    return load_rg_environment(TASK, **kwargs)
