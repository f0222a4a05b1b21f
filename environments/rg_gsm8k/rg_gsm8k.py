"""rg-gsm8k: GSM8K grade-school math word problems (openai/gsm8k, config main) as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "gsm8k"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against GSM8KConfig (rg_verifiers.math_env)."""
    return load_rg_environment(TASK, **kwargs)
