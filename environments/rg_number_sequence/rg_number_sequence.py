"""rg-number-sequence: reasoning-gym's `number_sequence` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "number_sequence"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against NumberSequenceConfig."""
    return load_rg_environment(TASK, **kwargs)
