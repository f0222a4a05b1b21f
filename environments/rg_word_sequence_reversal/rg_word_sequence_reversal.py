"""rg-word-sequence-reversal: reasoning-gym's `word_sequence_reversal` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "word_sequence_reversal"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against WordSequenceReversalConfig."""
    return load_rg_environment(TASK, **kwargs)
