"""rg-emoji-mystery: reasoning-gym's `emoji_mystery` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "emoji_mystery"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against EmojiMysteryConfig."""
    return load_rg_environment(TASK, **kwargs)
