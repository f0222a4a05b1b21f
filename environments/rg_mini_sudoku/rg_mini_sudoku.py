"""rg-mini-sudoku: reasoning-gym's `mini_sudoku` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "mini_sudoku"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against MiniSudokuConfig."""
    return load_rg_environment(TASK, **kwargs)
