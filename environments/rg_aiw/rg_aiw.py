"""rg-aiw: reasoning-gym's `aiw` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
verifiers 0.1.6-0.3.x: `load_environment(**kwargs)`. verifiers 0.4+: the exported Taskset (its
config fields are the same arguments), harness and env (rg_verifiers.taskset).
"""

from rg_verifiers.compat import VERIFIERS_V1

TASK = "aiw"

if VERIFIERS_V1:
    from rg_verifiers.taskset import RGEnv, RGHarness, taskset_class

    AiwTaskset = taskset_class(TASK)
    __all__ = ["AiwTaskset", "RGHarness", "RGEnv"]
else:
    from rg_verifiers.env import load_rg_environment

    def load_environment(**kwargs):
        """See README.md for the arguments; `config` is checked against AliceInWonderlandConfig."""
        return load_rg_environment(TASK, **kwargs)

    __all__ = ["load_environment"]
