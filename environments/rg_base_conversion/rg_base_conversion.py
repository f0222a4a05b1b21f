"""rg-base-conversion: reasoning-gym's `base_conversion` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "base_conversion"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against BaseConversionConfig."""
    return load_rg_environment(TASK, **kwargs)
