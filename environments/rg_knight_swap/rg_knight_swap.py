"""rg-knight-swap: reasoning-gym's `knight_swap` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "knight_swap"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against KnightSwapConfig."""
    return load_rg_environment(TASK, **kwargs)
