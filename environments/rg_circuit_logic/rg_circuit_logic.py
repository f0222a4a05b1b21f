"""rg-circuit-logic: reasoning-gym's `circuit_logic` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "circuit_logic"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against CircuitLogicConfig."""
    return load_rg_environment(TASK, **kwargs)
