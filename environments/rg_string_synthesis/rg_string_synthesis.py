"""rg-string-synthesis: reasoning-gym's `string_synthesis` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "string_synthesis"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against StringSynthesisConfig."""
    return load_rg_environment(TASK, **kwargs)
