"""rg-letter-counting: reasoning-gym's `letter_counting` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "letter_counting"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against LetterCountingConfig."""
    return load_rg_environment(TASK, **kwargs)
