"""rg-mahjong-puzzle: reasoning-gym's `mahjong_puzzle` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "mahjong_puzzle"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against MahjongPuzzleConfig."""
    return load_rg_environment(TASK, **kwargs)
