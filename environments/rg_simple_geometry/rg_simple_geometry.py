"""rg-simple-geometry: reasoning-gym's `simple_geometry` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "simple_geometry"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against SimpleGeometryConfig."""
    return load_rg_environment(TASK, **kwargs)
