"""The arguments of every rg-* environment, validated once for every verifiers API.

Under verifiers 0.1.6-0.3.x they are `load_environment(**kwargs)` (`vf-eval -a '{...}'`); under
0.4 they are the fields of the package's TasksetConfig (`--env.taskset.<field>`). Both go through
`parse_env_args`, so a bad value gets the same one line everywhere.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .data import TaskSpec
from .errors import RGVError, did_you_mean


def _arg(default, help: str):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class EnvArgs:
    """Arguments of every rg-* environment; the help texts fill the arguments table of every
    environment README and the field docs of the 0.4 TasksetConfig."""

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


def parse_env_args(kwargs: dict) -> EnvArgs:
    valid = [f.name for f in dataclasses.fields(EnvArgs)]
    for key in kwargs:
        if key not in valid:
            raise RGVError(f"unknown environment argument {key!r}{did_you_mean(key, valid)} (valid: {', '.join(valid)})")
    args = EnvArgs(**kwargs)
    for name in ("num_train_examples", "num_eval_examples", "seed"):
        value = getattr(args, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RGVError(f"{name} must be a non-negative integer, got {value!r}")
    if args.num_train_examples >= 10_000_000:
        raise RGVError("num_train_examples must be below 10,000,000 (the eval seed offset)")
    if args.config is not None and not isinstance(args.config, dict):
        raise RGVError(f"config must be a mapping of task config fields, got {args.config!r}")
    if args.prompt_placement not in ("system", "user"):
        raise RGVError(f"prompt_placement must be 'system' or 'user', got {args.prompt_placement!r}")
    if args.scoring not in ("auto", "sandbox"):
        raise RGVError(f"scoring must be 'auto' or 'sandbox', got {args.scoring!r}")
    if not isinstance(args.partial_credit, bool):
        raise RGVError(f"partial_credit must be true or false, got {args.partial_credit!r}")
    return args


def parse_tasks(tasks: Any, args: EnvArgs) -> list[TaskSpec]:
    if isinstance(tasks, (str, dict, TaskSpec)):
        spec = TaskSpec.parse(tasks)
        if args.config:
            spec.config = {**spec.config, **args.config}
        if args.difficulty is not None:
            spec.difficulty = args.difficulty
        specs = [spec]
    elif isinstance(tasks, (list, tuple)) and tasks:
        if args.config or args.difficulty is not None:
            raise RGVError("with several tasks, give 'config' and 'difficulty' per task: tasks=[{'name': ..., 'config': {...}, 'difficulty': 1}]")
        specs = [TaskSpec.parse(t) for t in tasks]
    else:
        raise RGVError(f"tasks must be a task name or a non-empty list of tasks, got {tasks!r}")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise RGVError(f"each task may appear once in a mixture; repeated: {sorted({n for n in names if names.count(n) > 1})}")
    for spec in specs:  # fail now, not after generating other tasks
        spec.config_json(0, 1)
    return specs
