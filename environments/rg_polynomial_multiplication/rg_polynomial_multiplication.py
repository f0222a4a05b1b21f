"""rg-polynomial-multiplication: reasoning-gym's `polynomial_multiplication` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "polynomial_multiplication"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against PolynomialMultiplicationConfig."""
    return load_rg_environment(TASK, **kwargs)
