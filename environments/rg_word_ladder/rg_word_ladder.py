"""rg-word-ladder: reasoning-gym's `word_ladder` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "word_ladder"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against WordLadderConfig."""
    return load_rg_environment(TASK, **kwargs)
