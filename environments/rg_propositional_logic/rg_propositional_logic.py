"""rg-propositional-logic: reasoning-gym's `propositional_logic` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "propositional_logic"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against PropositionalLogicConfig."""
    return load_rg_environment(TASK, **kwargs)
