"""rg-string-splitting: reasoning-gym's `string_splitting` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "string_splitting"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against StringSplittingConfig."""
    return load_rg_environment(TASK, **kwargs)
