"""rg-math: Math problems from a Hugging Face dataset or a local file (the shipped sample by default) as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "math"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against MathConfig (rg_verifiers.math_env)."""
    return load_rg_environment(TASK, **kwargs)
