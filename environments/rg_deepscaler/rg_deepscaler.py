"""rg-deepscaler: DeepScaleR-Preview competition math problems (agentica-org/DeepScaleR-Preview-Dataset) as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "deepscaler"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against DeepScaleRConfig (rg_verifiers.math_env)."""
    return load_rg_environment(TASK, **kwargs)
