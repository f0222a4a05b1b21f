"""rg-composite: reasoning-gym's `composite` as a verifiers environment.

Generated from rg_verifiers/templates/env by `rgv envs generate`; edit the template, not this file.
verifiers 0.1.6-0.3.x: `load_environment(**kwargs)`. verifiers 0.4+: the exported Taskset (its
config fields are the same arguments), harness and env (rg_verifiers.taskset).
"""

from rg_verifiers.compat import VERIFIERS_V1

if VERIFIERS_V1:
    from rg_verifiers.taskset import CompositeTaskset, RGEnv, RGHarness

    __all__ = ["CompositeTaskset", "RGHarness", "RGEnv"]
else:
    from rg_verifiers.env import load_rg_environment
    from rg_verifiers.tasks import COMPOSITE_DEFAULT_TASKS as DEFAULT_TASKS

    def load_environment(tasks=None, **kwargs):
        """A weighted mixture: tasks=[{"name": ..., "weight": ..., "config": {...}, "difficulty": ...}] or names."""
        return load_rg_environment(list(tasks or DEFAULT_TASKS), **kwargs)

    __all__ = ["load_environment"]
