"""rg-chain-sum: reasoning-gym's `chain_sum` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "chain_sum"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against ChainSumConfig."""
    return load_rg_environment(TASK, **kwargs)
