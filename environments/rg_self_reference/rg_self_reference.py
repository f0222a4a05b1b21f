"""rg-self-reference: reasoning-gym's `self_reference` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "self_reference"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against SelfReferenceConfig."""
    return load_rg_environment(TASK, **kwargs)
