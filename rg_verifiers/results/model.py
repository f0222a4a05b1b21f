"""The result model: one `ModelTaskResult` per (task, run), summarised from rollouts, with the
`RunInfo` (settings and origin) that keys and labels it; the schema tag of the files it is saved in."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Mapping, Optional, Union

from ..errors import RGVError
from .stats import default_ks, pass_at_k, wilson_interval

SCHEMA = "rg-verifiers/results/v1"
TIMESTAMP_FORMAT = "%Y%m%d_%H%M%S"

PathLike = Union[str, os.PathLike]


class ResultsError(RGVError):
    """A results file or folder could not be read or written; the message is one line."""


# rollout statuses that mean the model never answered (rgv bench: the endpoint refused the request)
ERROR_STATUSES = frozenset({"request_error", "model_error", "error"})


def rollout_error(row: Mapping[str, Any]) -> Optional[str]:
    """Why a rollout has no answer to score (None when it has one).

    vf-eval 0.1.x writes `"error": "ModelError()"` (a repr), 0.1.14+ a dict with `error` and
    `message`; rgv bench an `error` string and/or `status: request_error`.
    """
    err = row.get("error")
    if isinstance(err, Mapping):
        text = err.get("error_chain_repr") or err.get("message") or err.get("error") or "error"
        return str(text)
    if err not in (None, "", [], False):
        return str(err)
    status = row.get("status")
    if status in ERROR_STATUSES:
        return str(status)
    return None


@dataclass
class ModelTaskResult:
    """One (task, run) summary.

    `n_rollouts` counts the rollouts that got an answer and were scored; `n_errors` those where
    the model call failed (no answer at all). Errors are not scores: accuracy, its interval,
    the parse-failure rate and pass@k cover the scored rollouts only, and are None when there
    are none.
    """

    model: str
    task: str
    n_examples: int
    n_rollouts: int
    accuracy: Optional[float]
    accuracy_ci95: Optional[tuple[float, float]]
    mean_reward: Optional[float]
    parse_failure_rate: Optional[float]
    pass_at_k: dict[int, float] = field(default_factory=dict)
    mean_completion_tokens: Optional[float] = None
    mean_latency_s: Optional[float] = None
    extra: dict[str, Any] = field(default_factory=dict)
    n_errors: int = 0
    # where the numbers came from and with which settings; filled by load_results, not written
    run: Optional["RunInfo"] = field(default=None, compare=False, repr=False)

    @property
    def error_rate(self) -> float:
        total = self.n_rollouts + self.n_errors
        return self.n_errors / total if total else 0.0

    @property
    def scored(self) -> bool:
        return self.n_rollouts > 0 and self.accuracy is not None

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "run"}
        d["accuracy_ci95"] = list(self.accuracy_ci95) if self.accuracy_ci95 is not None else None
        # JSON object keys are strings; write them so explicitly so a round trip is lossless
        d["pass_at_k"] = {str(k): v for k, v in sorted(self.pass_at_k.items())}
        d["extra"] = dict(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], model: Optional[str] = None, task: Optional[str] = None) -> "ModelTaskResult":
        if not isinstance(d, Mapping):
            raise ResultsError(f"result entry for model={model!r} task={task!r} is not a JSON object")
        known = {f.name for f in fields(cls)} - {"run"}
        kwargs = {k: v for k, v in d.items() if k in known}
        # fields added by a newer writer are kept rather than dropped
        unknown = {k: v for k, v in d.items() if k not in known}
        kwargs.setdefault("model", model)
        kwargs.setdefault("task", task)
        missing = [n for n in ("model", "task", "n_examples", "n_rollouts") if kwargs.get(n) is None]
        if kwargs.get("accuracy") is None and kwargs.get("n_rollouts"):
            missing.append("accuracy")
        if missing:
            raise ResultsError(f"result entry for model={model!r} task={task!r} lacks {', '.join(missing)}")
        try:
            kwargs["extra"] = {**unknown, **(kwargs.get("extra") or {})}
            kwargs["n_examples"], kwargs["n_rollouts"] = int(kwargs["n_examples"]), int(kwargs["n_rollouts"])
            kwargs["n_errors"] = int(kwargs.get("n_errors") or 0)
            kwargs["pass_at_k"] = {int(k): float(v) for k, v in (kwargs.get("pass_at_k") or {}).items()}
            for name in ("mean_completion_tokens", "mean_latency_s"):
                kwargs[name] = None if kwargs.get(name) is None else float(kwargs[name])
            if kwargs["n_rollouts"] == 0 or kwargs.get("accuracy") is None:
                kwargs.update(accuracy=None, accuracy_ci95=None, mean_reward=None, parse_failure_rate=None, pass_at_k={})
                return cls(**kwargs)
            n, acc = kwargs["n_rollouts"], float(kwargs["accuracy"])
            kwargs["accuracy"] = acc
            ci = kwargs.get("accuracy_ci95") or wilson_interval(acc * n, n)
            kwargs["accuracy_ci95"] = (float(ci[0]), float(ci[1]))
            kwargs["mean_reward"] = float(kwargs["mean_reward"]) if kwargs.get("mean_reward") is not None else acc
            kwargs["parse_failure_rate"] = float(kwargs.get("parse_failure_rate") or 0.0)
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ResultsError(f"result entry for model={model!r} task={task!r} has a malformed field ({exc})") from None
        result = cls(**kwargs)
        if "n_errors" not in d:
            _discount_legacy_errors(result)
        return result


def _discount_legacy_errors(r: ModelTaskResult) -> None:
    """Files written before errors were counted apart scored a refused request as 0.

    Their `extra.statuses` still says how many there were; those rollouts had score 0 and no
    parse failure, so the scored-only numbers follow exactly. pass@k cannot be recomputed from
    a summary and is dropped rather than shown wrong.
    """
    statuses = r.extra.get("statuses")
    if not isinstance(statuses, Mapping):
        return
    errors = sum(int(v) for k, v in statuses.items() if k in ERROR_STATUSES and isinstance(v, (int, float)))
    if errors <= 0 or errors > r.n_rollouts:
        return
    total, scored = r.n_rollouts, r.n_rollouts - errors
    r.n_errors, r.n_rollouts, r.pass_at_k = errors, scored, {}
    if scored == 0:
        r.accuracy = r.accuracy_ci95 = r.mean_reward = r.parse_failure_rate = None
        return
    correct = r.accuracy * total
    r.accuracy = correct / scored
    r.accuracy_ci95 = wilson_interval(correct, scored)
    r.mean_reward = (r.mean_reward or 0.0) * total / scored
    r.parse_failure_rate = (r.parse_failure_rate or 0.0) * total / scored


def _mean_or_none(values: Iterable[Optional[float]]) -> Optional[float]:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def summarize_rollouts(
    model: str,
    task: str,
    rollouts: list[dict],
    rollouts_per_example: int,
    extra: Optional[dict] = None,
) -> ModelTaskResult:
    """Aggregate per-rollout records into one ModelTaskResult.

    Each rollout: example_id, reward, correct (task score in [0,1]; falls back to reward),
    parse_failure (0/1), completion_tokens (int|None), latency_s (float|None), and `error`
    (or `status: request_error`) when the model call failed: such rollouts are counted in
    `n_errors` and left out of every score.
    """
    if not rollouts:
        raise ResultsError(f"no rollouts to summarize for model {model!r} on task {task!r}")
    extra = dict(extra or {})
    errors = [e for e in (rollout_error(r) for r in rollouts) if e is not None]
    scored_rows = [r for r in rollouts if rollout_error(r) is None]
    if errors:
        extra.setdefault("first_error", errors[0][:200])
    n = len(scored_rows)
    if n == 0:
        return ModelTaskResult(model=model, task=task, n_examples=0, n_rollouts=0, accuracy=None, accuracy_ci95=None,
                               mean_reward=None, parse_failure_rate=None, extra=extra, n_errors=len(errors))
    scores = [min(max(float(r.get("correct", r.get("reward", 0.0)) or 0.0), 0.0), 1.0) for r in scored_rows]
    accuracy = sum(scores) / n
    by_example: dict[Any, list[float]] = defaultdict(list)
    for r, s in zip(scored_rows, scores):
        by_example[r.get("example_id")].append(s)

    pass_k: dict[int, float] = {}
    if rollouts_per_example > 1:
        for k in default_ks(rollouts_per_example):
            # examples with fewer than k scored rollouts (a failed request) cannot estimate pass@k
            vals = [
                pass_at_k(len(ss), sum(1 for s in ss if s >= 1.0), k) for ss in by_example.values() if len(ss) >= k
            ]
            if vals:
                pass_k[k] = sum(vals) / len(vals)

    return ModelTaskResult(
        model=model,
        task=task,
        n_examples=len(by_example),
        n_rollouts=n,
        accuracy=accuracy,
        accuracy_ci95=wilson_interval(sum(scores), n),
        mean_reward=sum(float(r.get("reward") or 0.0) for r in scored_rows) / n,
        parse_failure_rate=sum(float(r.get("parse_failure", 0) or 0) for r in scored_rows) / n,
        pass_at_k=pass_k,
        mean_completion_tokens=_mean_or_none(r.get("completion_tokens") for r in scored_rows),
        mean_latency_s=_mean_or_none(r.get("latency_s") for r in scored_rows),
        extra=extra,
        n_errors=len(errors),
    )


def average_over_tasks(per_task: Iterable[ModelTaskResult]) -> dict[str, Any]:
    """Macro average (each task weighs the same) with a Wilson interval.

    The interval uses the pooled rollout count at the macro mean: exact in the usual case of
    equal-sized tasks, and slightly conservative there (mean of p(1-p) <= p̄(1-p̄)). Tasks with
    no scored rollout (every request failed) have no accuracy and are left out.
    """
    items = [r for r in per_task if r.scored]
    if not items:
        return {"accuracy": None, "accuracy_ci95": None, "n_tasks": 0}
    acc = sum(r.accuracy for r in items) / len(items)
    n = sum(r.n_rollouts for r in items)
    lo, hi = wilson_interval(acc * n, n)
    return {"accuracy": acc, "accuracy_ci95": [lo, hi], "n_tasks": len(items)}


# ---------------------------------------------------------------------------------------------
# what a run measured: its settings, and where its numbers came from

# env args that change the prompt (hence the measurement), with the environments' defaults
PROMPT_ENV_ARGS = {"seed": 0, "system_prompt": None, "prompt_placement": "system"}
GENERATION_KEYS = ("max_tokens", "temperature", "top_p", "seed")


def _task_name(raw: Any) -> str:
    return str(raw).replace("-", "_").removeprefix("rg_")


def normalize_task_args(config: Any = None, difficulty: Any = None) -> dict[str, Any]:
    """`{"difficulty": 3, "config": {...}}` with unset parts left out (so defaults compare equal)."""
    out: dict[str, Any] = {}
    if difficulty is not None:
        out["difficulty"] = int(difficulty) if isinstance(difficulty, (int, float)) and not isinstance(difficulty, bool) else difficulty
    if isinstance(config, Mapping) and config:
        out["config"] = {str(k): config[k] for k in sorted(config, key=str)}
    return out


def task_args_from_env_args(env_args: Any, task: str) -> dict[str, Any]:
    """The difficulty/config one task ran with, from an environment's arguments (single task or mixture)."""
    if not isinstance(env_args, Mapping):
        return {}
    tasks = env_args.get("tasks")
    top = normalize_task_args(env_args.get("config"), env_args.get("difficulty"))
    entries = tasks if isinstance(tasks, list) else [tasks] if isinstance(tasks, (Mapping, str)) else []
    for entry in entries:
        if isinstance(entry, Mapping) and _task_name(entry.get("name", "")) == task:
            spec = normalize_task_args(entry.get("config"), entry.get("difficulty"))
            if len(entries) == 1:  # one task: top-level config/difficulty apply to it too
                merged = {**spec.get("config", {}), **top.get("config", {})}
                spec = normalize_task_args(merged, top.get("difficulty", spec.get("difficulty")))
            return spec
    return top


def normalize_generation(d: Any) -> dict[str, Any]:
    """max_tokens, temperature, top_p, seed with numbers in one type each (0 and 0.0 compare equal)."""
    if not isinstance(d, Mapping):
        return {}
    out: dict[str, Any] = {}
    raw = dict(d)
    if raw.get("max_tokens") is None and raw.get("max_completion_tokens") is not None:
        raw["max_tokens"] = raw["max_completion_tokens"]
    extra_body = raw.get("extra_body")
    if isinstance(extra_body, Mapping):  # how some clients pass max_tokens/seed to vLLM and llama.cpp
        for key in ("max_tokens", "seed"):
            if raw.get(key) is None:
                raw[key] = extra_body.get(key)
    for key in GENERATION_KEYS:
        v = raw.get(key)
        if v is None:
            continue
        try:
            out[key] = int(v) if key in ("max_tokens", "seed") else float(v)
        except (TypeError, ValueError):
            out[key] = v
    if out.get("top_p") == 1.0:  # the API's default: a file that says so and one that does not agree
        del out["top_p"]
    return out


def prompt_env_args(env_args: Any) -> dict[str, Any]:
    if not isinstance(env_args, Mapping):
        return {}
    # None = not recorded, which is the default here
    return {k: env_args[k] for k in PROMPT_ENV_ARGS if env_args.get(k) is not None and env_args[k] != PROMPT_ENV_ARGS[k]}


@dataclass
class RunInfo:
    """Settings and origin of one result; `load_results` fills it, the table labels by it."""

    model: str
    env_id: Optional[str] = None
    task_args: dict = field(default_factory=dict)
    env_args: dict = field(default_factory=dict)  # prompt-changing env args that differ from the defaults
    generation: dict = field(default_factory=dict)
    source: str = ""
    kind: str = ""  # "bench" or "vf-eval"
    group: str = ""  # one experiment (a benchmark folder, a vf-eval folder): one series per model
    identity: str = ""  # the same rollouts summarised twice share it
    timestamp: str = ""  # YYYYmmdd_HHMMSS
    provenance: dict = field(default_factory=dict)
    effective_config: Optional[dict] = None  # the task's full config as the rows were built (vf-eval rows)
    label: str = ""
    suffix: str = ""

    def settings(self, task: str) -> str:
        return json.dumps([task, self.model, self.task_args, self.env_args, self.generation], sort_keys=True, default=str)
