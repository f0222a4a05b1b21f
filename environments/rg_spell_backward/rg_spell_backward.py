"""rg-spell-backward: reasoning-gym's `spell_backward` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "spell_backward"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against SpellBackwardConfig."""
    return load_rg_environment(TASK, **kwargs)
