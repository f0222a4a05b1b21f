"""rg-simple-integration: reasoning-gym's `simple_integration` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "simple_integration"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against SimpleIntegrationConfig."""
    return load_rg_environment(TASK, **kwargs)
