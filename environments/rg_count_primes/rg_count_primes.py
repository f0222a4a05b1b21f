"""rg-count-primes: reasoning-gym's `count_primes` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "count_primes"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against CountPrimesConfig."""
    return load_rg_environment(TASK, **kwargs)
