"""Arguments -> the items of an rg environment: the fixed eval split now, the train split on first
use (disjoint seeds, eval questions excluded). The one source of items for the verifiers 0.1.x
environment, the verifiers 0.4 taskset and `rgv bench`."""

from __future__ import annotations

import dataclasses
from typing import Any

from .data import build_split, to_prompt_rows
from .envargs import EnvArgs, parse_env_args, parse_tasks
from .errors import RGVError, install_excepthook
from .scoring import Scorer, get_scorer


class EnvSplits:
    def __init__(self, tasks: Any, **kwargs):
        install_excepthook()
        self.args: EnvArgs = parse_env_args(kwargs)
        self.specs = parse_tasks(tasks, self.args)
        self.scorer: Scorer = get_scorer(self.args.scoring, self.args.score_timeout_s)
        if any(self.scorer.sandboxed(s.name) for s in self.specs):
            self.scorer.warm_up()
        if self.args.rg_items is not None:  # a reasoning-gym suite's items, as its eval.py asks them
            from .suites.items import rg_items_split

            rows, reports, self.args.system_prompt = rg_items_split(self.specs, self.args)
        else:
            rows, reports = build_split(self.specs, "eval", self.args.num_eval_examples, self.args.seed,
                                        use_cache=self.args.cache)
        self.eval_rows: list[dict] = rows
        self.eval_questions = {r["question"] for r in rows}
        self.report: dict[str, Any] = {"eval": [dataclasses.asdict(r) for r in reports], "train": None, "overlap": None}
        self._train: list[dict] | None = None

    @property
    def env_id(self) -> str:
        return "rg-" + self.specs[0].name.replace("_", "-") if len(self.specs) == 1 else "rg-composite"

    def train_rows(self) -> list[dict]:
        if self._train is None:
            args = self.args
            rows, reports = build_split(self.specs, "train", args.num_train_examples, args.seed,
                                        exclude=self.eval_questions, use_cache=args.cache)
            self.report["train"] = [dataclasses.asdict(r) for r in reports]
            if not rows and args.num_train_examples:
                names = ", ".join(s.name for s in self.specs)
                raise RGVError(f"{names}: no training question is left after the {len(self.eval_questions)} eval questions "
                               f"(this config has few distinct questions); widen the task config or lower num_eval_examples")
            self.report["overlap"] = len(self.eval_questions & {r["question"] for r in rows})
            if self.report["overlap"]:
                raise AssertionError(f"train/eval overlap of {self.report['overlap']} questions")  # by construction never
            self._train = rows
        return self._train

    def prompt_rows(self, rows: list[dict]) -> list[dict]:
        """Rows with the chat prompt every adapter sends (rg_verifiers.protocol.build_messages)."""
        if not rows:
            raise RGVError("no rows could be generated: the task config yields no valid items; check it with `rgv show`")
        return to_prompt_rows(rows, self.args.system_prompt, self.args.prompt_placement)


def splits_for(name: str, args: dict) -> tuple[str, EnvSplits]:
    """(env id, EnvSplits) for a task name or env id (`leg_counting`, `rg-leg-counting`, `rg-composite`
    with an optional `tasks` argument): the items its environment package builds under every
    verifiers version, since each package's loader passes its arguments to this same core."""
    from .tasks import COMPOSITE_DEFAULT_TASKS, env_id_for, task_for_env_id

    args = dict(args)
    if name.split("/")[-1].replace("_", "-") == "rg-composite":
        return "rg-composite", EnvSplits(list(args.pop("tasks", None) or COMPOSITE_DEFAULT_TASKS), **args)
    task = task_for_env_id(name)
    return env_id_for(task), EnvSplits(task, **args)
