"""rg-game-of-life: reasoning-gym's `game_of_life` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "game_of_life"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against GameOfLifeConfig."""
    return load_rg_environment(TASK, **kwargs)
