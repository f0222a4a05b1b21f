"""rg-shortest-path: reasoning-gym's `shortest_path` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "shortest_path"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against ShortestPathConfig."""
    return load_rg_environment(TASK, **kwargs)
