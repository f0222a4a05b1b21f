"""`load_rg_environment`: the one constructor behind every rg-* environment package."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import verifiers as vf
from datasets import Dataset

from .data import SplitReport, TaskSpec, build_split, to_prompt_rows
from .errors import RGVError, did_you_mean, install_excepthook
from .rubric import RGRubric
from .scoring import get_scorer

log = logging.getLogger("rg_verifiers")


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
    cache: bool = _arg(True, "reuse generated rows from RGV_CACHE_DIR (default ~/.cache/rg-verifiers)")


ENV_ARG_HELP = {f.name: f.metadata["help"] for f in dataclasses.fields(EnvArgs)}


class RGEnv(vf.SingleTurnEnv):
    """SingleTurnEnv whose train split is generated on first access.

    vf-eval only needs the eval split; building 1000 training items of a slow task first
    (knight_swap: ~9 min) would make it look hung.
    """

    def __init__(self, build_train, rgv_report: dict, **kwargs):
        self._build_train = build_train
        self._train = None
        self._constructing = True
        self.rgv_report = rgv_report
        if kwargs.get("eval_dataset") is None:  # no eval split: verifiers needs one of the two now
            build, self._build_train = build_train, None
            super().__init__(dataset=build(), **kwargs)
        else:
            super().__init__(dataset=None, **kwargs)
        self._constructing = False

    @property
    def dataset(self):
        if self._train is None and not getattr(self, "_constructing", True) and self._build_train is not None:
            build, self._build_train = self._build_train, None
            self._train = self._format_dataset(build())
        return self._train

    @dataset.setter
    def dataset(self, value):
        self._train = value


def load_rg_environment(tasks: Any, **kwargs) -> vf.Environment:
    """A verifiers environment for one task name or a list of task specs (weighted mixture)."""
    install_excepthook()
    args = _parse_args(kwargs)
    specs = _parse_tasks(tasks, args)
    scorer = get_scorer(args.scoring, args.score_timeout_s)
    if any(scorer.sandboxed(s.name) for s in specs):
        scorer.warm_up()

    eval_rows, eval_reports = build_split(specs, "eval", args.num_eval_examples, args.seed, use_cache=args.cache)
    eval_questions = {r["question"] for r in eval_rows}
    report: dict[str, Any] = {"eval": [dataclasses.asdict(r) for r in eval_reports], "train": None, "overlap": None}

    def build_train() -> Dataset:
        rows, reports = build_split(specs, "train", args.num_train_examples, args.seed, exclude=eval_questions, use_cache=args.cache)
        report["train"] = [dataclasses.asdict(r) for r in reports]
        if not rows and args.num_train_examples:
            names = ", ".join(s.name for s in specs)
            raise RGVError(f"{names}: no training question is left after the {len(eval_questions)} eval questions "
                           f"(this config has few distinct questions); widen the task config or lower num_eval_examples")
        report["overlap"] = len(eval_questions & {r["question"] for r in rows})
        if report["overlap"]:
            raise AssertionError(f"train/eval overlap of {report['overlap']} questions")  # by construction never
        return _to_dataset(rows, args)

    env_id = "rg-" + specs[0].name.replace("_", "-") if len(specs) == 1 else "rg-composite"
    return RGEnv(
        build_train, report,
        # num_eval_examples=0: no eval split (a training run without evaluation), not an error
        eval_dataset=_to_dataset(eval_rows, args) if args.num_eval_examples else None,
        system_prompt=None,  # the prompt column is built by rg_verifiers.protocol
        parser=vf.XMLParser(fields=["answer"]),
        rubric=RGRubric(scorer),
        env_id=env_id,
        env_args=kwargs,
    )


def _to_dataset(rows: list[dict], args: EnvArgs) -> Dataset:
    if not rows:
        raise RGVError("no rows could be generated: the task config yields no valid items; check it with `rgv show`")
    return Dataset.from_list(to_prompt_rows(rows, args.system_prompt, args.prompt_placement))


def _parse_args(kwargs: dict) -> EnvArgs:
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
    return args


def _parse_tasks(tasks: Any, args: EnvArgs) -> list[TaskSpec]:
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


def env_arg_defaults() -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(EnvArgs)}

