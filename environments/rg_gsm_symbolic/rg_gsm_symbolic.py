"""rg-gsm-symbolic: reasoning-gym's `gsm_symbolic` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "gsm_symbolic"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against GSMSymbolicDatasetConfig."""
    return load_rg_environment(TASK, **kwargs)
