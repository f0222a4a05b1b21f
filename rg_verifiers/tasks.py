"""The reasoning-gym task registry as rg-verifiers sees it: names, categories, configs, curricula."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from .errors import RGVError, did_you_mean

# Scored in sandboxed worker processes (time + memory limits) under scoring="auto":
# - scorers that run model text through eval()/sympy.parse_expr;
# - scorers whose cost on adversarial input is large: propositional_logic recurses (RecursionError,
#   ~13 s on 1 MB), sokoban and rubiks_cube replay moves (~1k answers/s; two workers double it),
#   codeio's tree edit distance on JSON answers (0.7 s at the cap in bench/bench_inprocess.py,
#   69 s on one 18.7k-character answer) and knight_swap's move replay (97 ms at the cap, default config).
# The others compare strings/numbers: bench/bench_inprocess.py measures every one at its top
# curriculum level on adversarial answers at the answer cap, and each stays under
# IN_PROCESS_BOUND_MS, so they run in-process (off the event loop) behind the same guards
# (scoring="sandbox" sends them to the workers too).
IN_PROCESS_BOUND_MS = 50.0
EXEC_SCORERS = frozenset(
    {
        "binary_matrix", "n_queens", "spiral_matrix", "string_insertion",  # eval()
        "countdown", "puzzle24", "simple_integration", "intermediate_integration",
        "polynomial_multiplication",  # sympy.parse_expr
    }
)
SLOW_OR_FRAGILE_SCORERS = frozenset({"propositional_logic", "sokoban", "rubiks_cube", "codeio", "knight_swap"})


@dataclass(frozen=True)
class DatasetTask:
    """A task that is not reasoning-gym's, served through the same registry, data path and scorer:
    its dataset class builds items (`ds[i]`) and scores answers (`score_answer`) as reasoning-gym's do."""

    dataset: str  # "module:Class"
    config: str  # "module:Class": a dataclass with seed, size and validate(), like reasoning-gym's configs
    category: str
    description: str


# The math datasets (rg_verifiers/math_env.py): `math` reads any dataset (the shipped sample by default);
# `gsm8k` and `deepscaler` are the same task with those hub datasets as defaults, so both fit in one
# mixture. Their final answer is the last \boxed{} of the final message, else its last <answer>
# (protocol.parse_answer); they are scored in the workers, since math_verify parses model text with sympy.
_MATH = "rg_verifiers.math_env"
DATASET_TASKS: dict[str, DatasetTask] = {
    "math": DatasetTask(f"{_MATH}:MathDataset", f"{_MATH}:MathConfig", "math_datasets",
                        "Math problems from a Hugging Face dataset or a local file (the shipped sample by default)"),
    "gsm8k": DatasetTask(f"{_MATH}:MathDataset", f"{_MATH}:GSM8KConfig", "math_datasets",
                         "GSM8K grade-school math word problems (openai/gsm8k, config main)"),
    "deepscaler": DatasetTask(f"{_MATH}:MathDataset", f"{_MATH}:DeepScaleRConfig", "math_datasets",
                              "DeepScaleR-Preview competition math problems (agentica-org/DeepScaleR-Preview-Dataset)"),
}
BOXED_ANSWER_TASKS = frozenset(DATASET_TASKS)


def taskset_name(task: str) -> str:
    """The name of a package's verifiers 0.4 Taskset class: leg_counting -> LegCountingTaskset."""
    return "".join(part.capitalize() for part in task.split("_")) + "Taskset"


# rg-composite's mixture when none is given
COMPOSITE_DEFAULT_TASKS = ("leg_counting", "basic_arithmetic", "chain_sum")
SANDBOXED = EXEC_SCORERS | SLOW_OR_FRAGILE_SCORERS | frozenset(DATASET_TASKS)

# Levels that validate but cannot generate items (measured: ../shared census); validate()
# catches the others at load time.
BROKEN_LEVELS: dict[str, dict[int, str]] = {
    "jugs": {3: "7 jugs at difficulty 20: generation raises or runs > 60 s per item"},
}

# Levels whose curriculum config the task's own validate() rejects, made usable by moving the
# offending field to the nearest valid value (the rest of the level is unchanged):
# task -> (levels, description, fix(fields) -> fields)
CLAMPED_LEVELS: dict[str, tuple[tuple[int, ...], str, Any]] = {
    "caesar_cipher": ((2, 3), "max_rotation 50 -> 25 (validate: rotation in [1, 25])",
                      lambda f: {**f, "max_rotation": min(f["max_rotation"], 25)}),
    "knight_swap": ((0, 1, 2, 3, 4), "min_nodes 4 -> 6, max_nodes at least 6 (validate: min_nodes >= 6)",
                    lambda f: {**f, "min_nodes": max(f["min_nodes"], 6), "max_nodes": max(f["max_nodes"], 6)}),
    "modulo_grid": ((1,), "max_target 0 -> 1 (validate: max_target > 0)",
                    lambda f: {**f, "max_target": max(f["max_target"], 1)}),
    "rubiks_cube": ((4,), "cube_size 7 -> 6 (validate: cube_size < 7)",
                    lambda f: {**f, "cube_size": min(f["cube_size"], 6)}),
    "survo": ((2, 3), "max_empty 16/25 -> 9 (validate: max_empty <= (min_board_size - 1)**2 = 9)",
              lambda f: {**f, "max_empty": min(f["max_empty"], (f["min_board_size"] - 1) ** 2)}),
}


def level_notes(name: str) -> dict[int, str]:
    """Curriculum levels that differ from reasoning-gym's: clamped ("clamped: ...") or broken
    ("broken: ..."), for `rgv tasks` and the docs."""
    name = resolve_task(name)
    notes = {}
    if name in CLAMPED_LEVELS:
        levels, what, _ = CLAMPED_LEVELS[name]
        notes.update({lv: f"clamped: {what}" for lv in levels})
    notes.update({lv: f"broken: {why}" for lv, why in BROKEN_LEVELS.get(name, {}).items()})
    return notes


def usable_levels(name: str) -> list[int]:
    """The curriculum levels `difficulty=` accepts (after clamping), in order."""
    info = task_info(name)
    out = []
    for level in range(info.difficulty_levels):
        try:
            build_config(info.name, None, level, seed=0, size=1)
        except RGVError:
            continue
        out.append(level)
    return out


@functools.cache
def _registry():
    import reasoning_gym  # noqa: F401  (registration happens at import)
    from reasoning_gym.factory import DATASETS

    return {name: DATASETS[name] for name in sorted(DATASETS) if name != "composite"}


def task_names() -> list[str]:
    """reasoning-gym's tasks (the dataset tasks of DATASET_TASKS are listed by dataset_task_names)."""
    return list(_registry())


def dataset_task_names() -> list[str]:
    return list(DATASET_TASKS)


def all_task_names() -> list[str]:
    return task_names() + dataset_task_names()


@functools.cache
def _dataset_task_classes(name: str) -> tuple[type, type]:
    import importlib

    def load(ref: str):
        module, attr = ref.split(":")
        return getattr(importlib.import_module(module), attr)

    return load(DATASET_TASKS[name].dataset), load(DATASET_TASKS[name].config)


def _classes(name: str) -> tuple[type, type]:
    """(dataset class, config class) of a resolved task name."""
    return _dataset_task_classes(name) if name in DATASET_TASKS else _registry()[name]


def env_id_for(task: str) -> str:
    return "rg-" + task.replace("_", "-")


def task_for_env_id(env_id: str) -> str:
    name = env_id.split("/")[-1]
    name = name[3:] if name.startswith(("rg-", "rg_")) else name
    return resolve_task(name.replace("-", "_"))


def resolve_task(name: str) -> str:
    names = _registry()
    if name in names or name in DATASET_TASKS:
        return name
    raise RGVError(f"unknown task {name!r}{did_you_mean(name, [*names, *DATASET_TASKS])} (rgv tasks lists all "
                   f"{len(names)}; math datasets: {', '.join(DATASET_TASKS)})")


@dataclass(frozen=True)
class TaskInfo:
    name: str
    category: str
    config_fields: tuple[str, ...]
    difficulty_levels: int  # 0 when the task has no curriculum
    sandboxed: bool


@functools.cache
def task_info(name: str) -> TaskInfo:
    name = resolve_task(name)
    dataset_cls, config_cls = _classes(name)
    # reasoning_gym.<category>.<module>
    category = DATASET_TASKS[name].category if name in DATASET_TASKS else dataset_cls.__module__.split(".")[1]
    fields = tuple(f.name for f in dataclasses.fields(config_cls) if f.name not in ("seed", "size"))
    return TaskInfo(name, category, fields, _num_levels(name), name in SANDBOXED)


def _num_levels(name: str) -> int:
    from reasoning_gym.factory import create_curriculum, has_curriculum

    if name in DATASET_TASKS or not has_curriculum(name):
        return 0
    return max(len(a.levels) for a in create_curriculum(name).attributes.values())


def config_class(name: str):
    return _classes(resolve_task(name))[1]


def dataset_class(name: str):
    return _classes(resolve_task(name))[0]


def build_config(name: str, config: dict[str, Any] | None, difficulty: int | None, seed: int, size: int):
    """The task's config dataclass: curriculum level first, explicit fields on top, validated."""
    name = resolve_task(name)
    config = dict(config or {})
    cls = config_class(name)
    valid = [f.name for f in dataclasses.fields(cls) if f.name not in ("seed", "size")]
    for key in config:
        if key not in valid:
            raise RGVError(
                f"unknown config field {key!r} for task {name!r}{did_you_mean(key, valid)} "
                f"(valid fields: {', '.join(valid)})"
            )
    base: dict[str, Any] = {}
    if difficulty is not None:
        base = _curriculum_fields(name, difficulty)
    fields = {**base, **config, "seed": seed, "size": size}
    try:
        cfg = cls(**fields)
        if hasattr(cfg, "validate"):  # a few config classes have none
            cfg.validate()
    except RGVError:  # already one line that says what to do (the math datasets' loading errors)
        raise
    except (AssertionError, ValueError, TypeError) as exc:
        where = f" at difficulty {difficulty}" if difficulty is not None else ""
        raise RGVError(f"invalid config for task {name!r}{where}: {exc or type(exc).__name__} (config: {config})") from None
    return cfg


def _curriculum_fields(name: str, level: int) -> dict[str, Any]:
    from reasoning_gym.factory import create_curriculum

    info = task_info(name)
    if info.difficulty_levels == 0:
        raise RGVError(f"task {name!r} has no curriculum, so 'difficulty' is not available; set 'config' fields instead")
    if not isinstance(level, int) or not 0 <= level < info.difficulty_levels:
        raise RGVError(f"difficulty for {name!r} must be an integer in 0..{info.difficulty_levels - 1}, got {level!r}")
    if level in BROKEN_LEVELS.get(name, {}):
        raise RGVError(f"difficulty {level} of {name!r} is broken in reasoning-gym 0.1.25: {BROKEN_LEVELS[name][level]}; choose another level")
    cur = create_curriculum(name)
    cur.set_global_level(level)
    try:
        # Passing seed/size here matters: without them the curriculum draws seed=None (random).
        cfg = cur.generate_configuration({"seed": 0, "size": 1})
    except (AssertionError, ValueError, IndexError) as exc:
        raise RGVError(f"difficulty {level} of {name!r} is broken in reasoning-gym 0.1.25 ({exc}); choose another level") from None
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in ("seed", "size")}
    if name in CLAMPED_LEVELS and level in CLAMPED_LEVELS[name][0]:
        fields = CLAMPED_LEVELS[name][2](fields)
    return fields
