"""rg-manipulate-matrix: reasoning-gym's `manipulate_matrix` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "manipulate_matrix"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against ManipulateMatrixConfig."""
    return load_rg_environment(TASK, **kwargs)
