"""rg-pool-matrix: reasoning-gym's `pool_matrix` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
verifiers 0.1.6-0.3.x: `load_environment(**kwargs)`. verifiers 0.4+: the exported Taskset (its
config fields are the same arguments), harness and env (rg_verifiers.taskset).
"""

from rg_verifiers.compat import VERIFIERS_V1

TASK = "pool_matrix"

if VERIFIERS_V1:
    from rg_verifiers.taskset import RGEnv, RGHarness, taskset_class

    PoolMatrixTaskset = taskset_class(TASK)
    __all__ = ["PoolMatrixTaskset", "RGHarness", "RGEnv"]
else:
    from rg_verifiers.env import load_rg_environment

    def load_environment(**kwargs):
        """See README.md for the arguments; `config` is checked against PoolMatrixConfig."""
        return load_rg_environment(TASK, **kwargs)

    __all__ = ["load_environment"]
