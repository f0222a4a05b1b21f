"""rg-letter-jumble: reasoning-gym's `letter_jumble` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "letter_jumble"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against LetterJumbleConfig."""
    return load_rg_environment(TASK, **kwargs)
