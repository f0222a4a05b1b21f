"""rg-color-cube-rotation: reasoning-gym's `color_cube_rotation` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
"""

from rg_verifiers.env import load_rg_environment

TASK = "color_cube_rotation"


def load_environment(**kwargs):
    """See README.md for the arguments; `config` is checked against ColorCubeRotationConfig."""
    return load_rg_environment(TASK, **kwargs)
