"""The arguments of every rg-* environment, importable without verifiers.

`rgv bench` records them (provenance) and `--suite` builds its items without importing verifiers,
whose import is most of a short benchmark's start-up; `load_rg_environment` (env.py) parses them.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def _arg(default, help: str):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class EnvArgs:
    """Arguments of every rg-* environment (`vf-eval rg-<task> -a '{...}'`); the help texts fill
    the arguments table of every environment README."""

    num_train_examples: int = _arg(1000, "training rows (built lazily, on first use)")
    num_eval_examples: int = _arg(100, "fixed eval rows; vf-eval -n takes the first n")
    seed: int = _arg(0, "train seeds start here, eval seeds at seed + 10,000,000 (disjoint)")
    config: dict | None = _arg(None, "task config fields, validated against the task's config dataclass")
    difficulty: int | None = _arg(None, "curriculum level (0 = easiest); explicit config fields override it")
    system_prompt: str | None = _arg(None, "None = universal <answer> instruction; a string replaces it; \"\" = none")
    prompt_placement: str = _arg("system", "\"system\", or \"user\" to prepend the instruction to the question")
    scoring: str = _arg("auto", "\"auto\" sandboxes risky scorers; \"sandbox\" runs every scorer in workers")
    score_timeout_s: float = _arg(10.0, "time limit per answer in a scoring worker (then 0 + score_failure)")
    partial_credit: bool = _arg(True, "true = the task's own scores (partial credit, 0.01 floors); false = every score below 1.0 becomes 0")
    cache: bool = _arg(True, "reuse generated rows from RGV_CACHE_DIR (default ~/.cache/rg-verifiers)")
    rg_items: dict | None = _arg(None, "reasoning-gym items mode: {\"seed\": 45, \"size\": 50} makes the eval rows exactly "
                                       "reasoning_gym.create_dataset(task, seed, size, **config) (no seed shift, no de-dup; "
                                       "size defaults to num_eval_examples) with reasoning-gym's system prompt unless system_prompt is given")


ENV_ARG_HELP = {f.name: f.metadata["help"] for f in dataclasses.fields(EnvArgs)}


def env_arg_defaults() -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(EnvArgs)}
