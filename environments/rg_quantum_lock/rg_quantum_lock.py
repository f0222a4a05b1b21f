"""rg-quantum-lock: reasoning-gym's `quantum_lock` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "quantum_lock"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against QuantumLockConfig."""
    return load_rg_environment(TASK, **kwargs)
