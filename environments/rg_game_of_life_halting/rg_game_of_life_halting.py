"""rg-game-of-life-halting: reasoning-gym's `game_of_life_halting` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "game_of_life_halting"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against GameOfLifeHaltingConfig."""
    return load_rg_environment(TASK, **kwargs)
