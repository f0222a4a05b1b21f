"""reasoning-gym's published eval suites, item for item, and the paper's scores beside yours.

- `config`: reasoning-gym's eval config format (categories -> datasets -> params, default_size,
  default_seed, system_prompt / system_prompt_id); `rg-easy` and `rg-hard` ship as package data.
- `items`: an environment's eval rows built exactly as `reasoning_gym.create_dataset(name,
  seed=..., size=..., **params)` yields them (the env's "reasoning-gym items" mode).
- `paper`: the published per-task zero-shot scores of both suites, as reference series.
"""

from .config import SUITE_NAMES, Suite, SuiteTask, load_suite

__all__ = ["SUITE_NAMES", "Suite", "SuiteTask", "load_suite"]
