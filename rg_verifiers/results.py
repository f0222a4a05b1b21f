"""Results schema shared by the benchmark runner, the plots and the reports.

One `ModelTaskResult` per (task, run). Files on disk are JSON tagged with
`"schema": "rg-verifiers/results/v1"` so that plots can tell our files from anything else:

- `results_<task>_<timestamp>.json` (kind "task"): `{"models": {model: result}}`
- `results_all_tasks_<timestamp>.json` (kind "all_tasks"): `{"results": {task: {model: result}}}`

`load_results` also reads `vf-eval -s` output folders (metadata.json + results.jsonl) of
verifiers 0.1.x to 0.3.x, so a quick vf-eval run can be plotted next to a full benchmark.

Keying. A run of a task is identified by (task, model, task args (difficulty, config), the env
args that change the prompt (seed, system_prompt, prompt_placement), generation settings
(max_tokens, temperature, top_p, seed)). They come from the file's `provenance` object
(vf-eval folders: metadata.json's `rgv_provenance`) when present, else from what older files
hold: vf-eval's `env_args`/`sampling_args`, a benchmark file's `config`. The item and rollout
counts are not part of the key: they say how big a run was, not what it measured.

Nothing is dropped. The same rollouts summarised twice (a benchmark's per-task file and its
all-tasks file, the older files of a resumed run, one folder given twice) count once, the
newest summary kept. Every other run is kept: results of one experiment (one benchmark folder,
one vf-eval folder) form one series, labelled with the model name; series of one model that
cover the same task get labels naming what tells them apart (`model [difficulty=3]`,
`model [T=0.7]`, `model [run 2025-01-02 10:00]`). `latest=True` instead keeps only the newest
of runs whose settings are identical, and says which it set aside (`ResultsTable.notes`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from rg_verifiers.errors import RGVError, did_you_mean

SCHEMA = "rg-verifiers/results/v1"
TIMESTAMP_FORMAT = "%Y%m%d_%H%M%S"

PathLike = Union[str, os.PathLike]


class ResultsError(RGVError):
    """A results file or folder could not be read or written; the message is one line."""



# ---------------------------------------------------------------------------------------------
# statistics


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    `successes` may be fractional (a sum of partial-credit scores in [0, 1]); the interval is
    then the one of the mean score, which is what the accuracy column reports. Wilson rather than
    the normal approximation because it stays inside [0, 1] and is sane at 0/n and n/n.
    """
    if n <= 0:
        return (0.0, 0.0)
    p = min(max(successes / n, 0.0), 1.0)
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # the interval contains p exactly; rounding put the upper end at 0.9999999999999999 for n/n,
    # which made error bars negative and matplotlib refuse them
    return (max(0.0, min(center - half, p)), min(1.0, max(center + half, p)))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): P(at least one of k draws without replacement passes)."""
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    # product form of 1 - C(n-c, k) / C(n, k); avoids huge binomials
    prob_all_fail = 1.0
    for i in range(n - c + 1, n + 1):
        prob_all_fail *= 1.0 - k / i
    return 1.0 - prob_all_fail


def diff_interval(
    p_base: float, ci_base: Sequence[float], p_new: float, ci_new: Sequence[float]
) -> tuple[float, float]:
    """95% interval of `p_new - p_base` for independent samples (Newcombe 1998, method 10).

    Combines the two Wilson intervals (`ci_*`) instead of assuming normality, so it behaves
    at accuracies near 0 or 1 where fine-tuning deltas usually live.
    """
    (l_b, u_b), (l_n, u_n) = ci_base, ci_new
    d = p_new - p_base
    lo = d - math.sqrt((p_new - l_n) ** 2 + (u_b - p_base) ** 2)
    hi = d + math.sqrt((u_n - p_new) ** 2 + (p_base - l_b) ** 2)
    return (lo, hi)


def default_ks(rollouts_per_example: int) -> list[int]:
    """k values reported for pass@k: powers of two up to r, plus r itself."""
    ks, k = set(), 1
    while k <= rollouts_per_example:
        ks.add(k)
        k *= 2
    ks.add(rollouts_per_example)
    return sorted(ks)



# ---------------------------------------------------------------------------------------------
# per (model, task) summary

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


def format_task_args(args: Mapping[str, Any]) -> str:
    """`difficulty=3, max_animals=5`; "" for the task's defaults."""
    parts = []
    if args.get("difficulty") is not None:
        parts.append(f"difficulty={args['difficulty']}")
    for k, v in (args.get("config") or {}).items():
        parts.append(f"{k}={json.dumps(v) if not isinstance(v, str) else v}")
    return ", ".join(parts)


def _fmt_num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def format_generation(gen: Mapping[str, Any]) -> str:
    names = {"max_tokens": "max_tokens", "temperature": "T", "top_p": "top_p", "seed": "seed"}
    return ", ".join(f"{names[k]}={_fmt_num(gen[k])}" for k in GENERATION_KEYS if k in gen) or "server defaults"


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


# ---------------------------------------------------------------------------------------------
# table


@dataclass
class ResultsTable:
    """`{task: {label: ModelTaskResult}}`; insertion order is kept for tasks and labels.

    A label is the model name, or the model name plus what tells its runs apart
    (`series_suffix`), see the module docstring. `notes` lists what `load_results` set aside.
    """

    results: dict[str, dict[str, ModelTaskResult]] = field(default_factory=dict)
    series: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (model, suffix)
    notes: list[str] = field(default_factory=list)

    def add(self, result: ModelTaskResult, label: Optional[str] = None) -> None:
        # programmatic use (one benchmark run): a (task, label) added twice keeps the later one;
        # load_results gives every distinct run its own label instead
        run = result.run
        label = label or (run.label if run is not None and run.label else result.model)
        self.results.setdefault(result.task, {})[label] = result
        self.series.setdefault(label, (result.model, run.suffix if run is not None and run.label == label else ""))

    @property
    def tasks(self) -> list[str]:
        return list(self.results)

    @property
    def models(self) -> list[str]:
        """Series labels (model names unless runs had to be told apart)."""
        seen: dict[str, None] = {}
        for per_model in self.results.values():
            seen.update(dict.fromkeys(per_model))
        return list(seen)

    def series_model(self, label: str) -> str:
        return self.series.get(label, (label, ""))[0]

    def series_suffix(self, label: str) -> str:
        return self.series.get(label, (label, ""))[1]

    @property
    def is_single_task(self) -> bool:
        return len(self.results) == 1

    def get(self, task: str, model: str) -> Optional[ModelTaskResult]:
        return self.results.get(task, {}).get(model)

    def common_tasks(self, models: Optional[Sequence[str]] = None) -> list[str]:
        models = list(models) if models is not None else self.models
        return [t for t in self.tasks if all(m in self.results[t] for m in models)]

    def average(self, tasks: Optional[Sequence[str]] = None) -> dict[str, dict[str, Any]]:
        """Per-series macro average over `tasks` (default: every task the series has)."""
        out = {}
        for m in self.models:
            ts = self.tasks if tasks is None else tasks
            out[m] = average_over_tasks(self.results[t][m] for t in ts if m in self.results.get(t, {}))
        return out

    def reordered(self, tasks: Sequence[str]) -> "ResultsTable":
        """The same table with its tasks in this order (a subset drops the others)."""
        return ResultsTable({t: self.results[t] for t in tasks if t in self.results}, dict(self.series), list(self.notes))

# ---------------------------------------------------------------------------------------------
# writing


def make_timestamp() -> str:
    return datetime.now().strftime(TIMESTAMP_FORMAT)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _atomic_write_json(doc: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # tmp file in the same folder so os.replace is a rename on one filesystem: a crashed or
    # concurrent benchmark never leaves a half-written file for the plotter to choke on
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _by_model(results: Union[Mapping[str, ModelTaskResult], Iterable[ModelTaskResult]]) -> dict[str, ModelTaskResult]:
    if isinstance(results, Mapping):
        return dict(results)
    return {r.model: r for r in results}


def write_task_results(
    task: str,
    results: Union[Mapping[str, ModelTaskResult], Iterable[ModelTaskResult]],
    output_dir: PathLike,
    config: Optional[dict] = None,
    timestamp: Optional[str] = None,
    provenance: Optional[dict] = None,
) -> Path:
    """Write `results_<task>_<timestamp>.json`; `results` maps model -> result (or is a list).

    `provenance` (versions, endpoint, env_args, generation, ...) is stored as the top-level
    `provenance` object; a per-model one can ride in a result's `extra["provenance"]`.
    """
    ts = timestamp or make_timestamp()
    doc = {
        "schema": SCHEMA,
        "kind": "task",
        "task": task,
        "timestamp": ts,
        "config": dict(config or {}),
        "models": {m: r.to_dict() for m, r in _by_model(results).items()},
    }
    if provenance is not None:
        doc["provenance"] = dict(provenance)
    return _atomic_write_json(doc, Path(output_dir) / f"results_{_safe_name(task)}_{ts}.json")


def write_all_results(
    results: Union[Mapping[str, Mapping[str, ModelTaskResult]], Iterable[ModelTaskResult], ResultsTable],
    output_dir: PathLike,
    config: Optional[dict] = None,
    timestamp: Optional[str] = None,
    provenance: Optional[dict] = None,
) -> Path:
    """Write `results_all_tasks_<timestamp>.json` with per-model macro averages (see write_task_results)."""
    table = ResultsTable()
    if isinstance(results, ResultsTable):
        table = results
    elif isinstance(results, Mapping):
        for per_model in results.values():
            for r in _by_model(per_model).values():
                table.add(r)
    else:
        for r in results:
            table.add(r)
    ts = timestamp or make_timestamp()
    doc = {
        "schema": SCHEMA,
        "kind": "all_tasks",
        "timestamp": ts,
        "config": dict(config or {}),
        "tasks": table.tasks,
        "models": table.models,
        "results": {t: {m: r.to_dict() for m, r in pm.items()} for t, pm in table.results.items()},
        "average": table.average(),
    }
    if provenance is not None:
        doc["provenance"] = dict(provenance)
    return _atomic_write_json(doc, Path(output_dir) / f"results_all_tasks_{ts}.json")


# ---------------------------------------------------------------------------------------------
# loading


def _read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not valid JSON ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path} is not a UTF-8 text file") from None
    except OSError as e:
        raise ResultsError(f"cannot read {path}: {e.strerror or e}") from None


def _mapping(value: Any) -> dict:
    return dict(value) if isinstance(value, Mapping) else {}


def _file_stamp(path: Path) -> str:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).strftime(TIMESTAMP_FORMAT)
    except OSError:
        return ""


def _read_json_doc(path: Path) -> list[ModelTaskResult]:
    doc = _read_json_file(path)
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        if isinstance(schema, str) and schema.startswith("rg-verifiers/results/"):
            raise ResultsError(f"{path} uses schema {schema!r}; this version reads {SCHEMA!r}")
        raise ResultsError(f"{path} is not an rg-verifiers results file (no \"schema\": \"{SCHEMA}\")")
    kind = doc.get("kind")
    if kind == "task":
        task = doc.get("task")
        if not isinstance(task, str) or not isinstance(doc.get("models", {}), Mapping):
            raise ResultsError(f"{path}: a 'task' results file needs a task name and a models object")
        entries = [(task, m, d) for m, d in doc.get("models", {}).items()]
    elif kind == "all_tasks":
        per_task = doc.get("results", {})
        if not isinstance(per_task, Mapping) or not all(isinstance(v, Mapping) for v in per_task.values()):
            raise ResultsError(f"{path}: 'results' must map tasks to {{model: result}} objects")
        entries = [(t, m, d) for t, per_model in per_task.items() for m, d in per_model.items()]
    else:
        raise ResultsError(f"{path}: unknown results kind {kind!r} (expected 'task' or 'all_tasks')")

    cfg = _mapping(doc.get("config"))
    file_prov = _mapping(doc.get("provenance"))
    stamp = str(doc.get("timestamp") or "") or _file_stamp(path)
    folder = str(path.parent.resolve())
    # what benchmark files held before provenance: the run's settings and its task specs
    legacy_tasks = cfg.get("tasks") if kind == "all_tasks" else [cfg.get("task")] if cfg.get("task") else cfg.get("tasks")
    legacy_env = {"tasks": legacy_tasks if isinstance(legacy_tasks, list) else [], "seed": cfg.get("seed")}
    legacy_gen = {k: cfg.get(k) for k in ("max_tokens", "temperature", "seed")}
    out = []
    for task, model, d in entries:
        r = ModelTaskResult.from_dict(d, model=model, task=task)
        prov = {**file_prov, **_mapping(r.extra.pop("provenance", None))}
        env_args = prov["env_args"] if isinstance(prov.get("env_args"), Mapping) else legacy_env
        task_args = task_args_from_env_args(env_args, task)
        if not task_args and env_args is not legacy_env:
            task_args = task_args_from_env_args(legacy_env, task)
        generation = prov["generation"] if isinstance(prov.get("generation"), Mapping) else legacy_gen
        rollouts_file = r.extra.get("rollouts_file") or stamp.split("_shard")[0]
        r.run = RunInfo(
            model=str(model), env_id=str(prov.get("env_id") or "rg-" + task.replace("_", "-")),
            task_args=task_args, env_args=prompt_env_args(env_args), generation=normalize_generation(generation),
            source=str(path), kind="bench", group=f"bench:{folder}", identity=f"bench:{folder}:{model}:{task}:{rollouts_file}",
            timestamp=stamp, provenance=prov,
        )
        out.append(r)
    return out


def _is_vf_eval_dir(path: Path) -> bool:
    return (path / "metadata.json").is_file() and (path / "results.jsonl").is_file()


def env_id_to_task(env_id: str) -> str:
    """`rg-leg-counting` -> `leg_counting` (env ids are kebab-case, rg task names snake_case)."""
    return re.sub(r"^rg-", "", env_id).replace("-", "_")


def _row_info(row: dict) -> dict:
    info = row.get("info")
    if isinstance(info, str):  # some dataset writers serialize nested dicts as strings
        try:
            info = json.loads(info)
        except json.JSONDecodeError:
            info = None
    return info if isinstance(info, dict) else {}


def _row_task(row: dict, default: str) -> str:
    info = _row_info(row)
    # our environments keep the task in info["rg_task"] (verifiers 0.1.14+ reject info["task"])
    for key in ("rg_task", "task"):
        if info.get(key):
            return str(info[key])
    return default


def _row_config(row: dict) -> Optional[dict]:
    """The task config the row was built with, less the per-split seed and size."""
    raw = _row_info(row).get("config")
    try:
        cfg = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return None
    if not isinstance(cfg, dict):
        return None
    return {k: v for k, v in cfg.items() if k not in ("seed", "size")}


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _row_latency(row: dict) -> Optional[float]:
    if _number(row.get("latency_s")) is not None:
        return float(row["latency_s"])
    # verifiers 0.1.x: generation time per rollout in ms
    if _number(row.get("generation_ms")) is not None:
        return float(row["generation_ms"]) / 1000.0
    timing = row.get("timing")
    if isinstance(timing, Mapping):
        if _number(timing.get("generation_ms")) is not None:
            return float(timing["generation_ms"]) / 1000.0
        # verifiers 0.1.14+/0.3.x: RolloutTiming.model_dump(), spans in seconds
        for key in ("generation", "model"):
            span = timing.get(key)
            if isinstance(span, Mapping) and _number(span.get("duration")):
                return float(span["duration"])
    return None


def _row_tokens(row: dict) -> Optional[float]:
    if _number(row.get("completion_tokens")) is not None:
        return float(row["completion_tokens"])
    # verifiers 0.1.14+/0.3.x: token_usage {input_tokens, output_tokens}; OpenAI usage objects too
    for key, field_name in (("token_usage", "output_tokens"), ("usage", "completion_tokens"), ("usage", "output_tokens")):
        usage = row.get(key)
        if isinstance(usage, Mapping) and _number(usage.get(field_name)) is not None:
            return float(usage[field_name])
    return None


def _read_vf_eval_dir(path: Path) -> list[ModelTaskResult]:
    meta = _read_json_file(path / "metadata.json")
    if not isinstance(meta, dict):
        raise ResultsError(f"{path / 'metadata.json'} is not a JSON object; is this a vf-eval -s folder?")
    prov = _mapping(meta.get("rgv_provenance"))
    missing = [k for k in ("env_id", "model") if not (prov.get(k) or meta.get(k))]
    if missing:
        raise ResultsError(f"{path / 'metadata.json'} lacks {', '.join(missing)}; is this a vf-eval -s folder?")
    env_id = str(prov.get("env_id") or meta["env_id"])
    model = str(prov.get("label") or prov.get("model") or meta["model"])
    env_args = prov["env_args"] if isinstance(prov.get("env_args"), Mapping) else _mapping(meta.get("env_args"))
    sampling = _mapping(meta.get("sampling_args"))
    # our environments put the settings they resolved (defaults filled in) in sampling_args under
    # "rgv_generation" (rg_verifiers.generation.SAMPLING_KEY); older folders hold only what was asked
    generation = next((g for g in (prov.get("generation"), sampling.get("rgv_generation")) if isinstance(g, Mapping)), sampling)
    default_task = env_id_to_task(env_id)
    try:
        rpe = max(int(meta.get("rollouts_per_example") or 1), 1)
    except (TypeError, ValueError):
        raise ResultsError(f"{path / 'metadata.json'}: rollouts_per_example is not a number") from None
    by_task: dict[str, list[dict]] = defaultdict(list)
    configs: dict[str, Optional[dict]] = {}
    try:
        f = open(path / "results.jsonl", encoding="utf-8")
    except OSError as e:
        raise ResultsError(f"cannot read {path / 'results.jsonl'}: {e.strerror or e}") from None
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ResultsError(f"{path / 'results.jsonl'} line {lineno} is not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ResultsError(f"{path / 'results.jsonl'} line {lineno} is not a JSON object")
            try:
                reward = float(row.get("reward") or 0.0)
                correct = float(row["correct"]) if row.get("correct") is not None else reward
                parse_failure = float(row.get("parse_failure") or 0)
            except (TypeError, ValueError):
                raise ResultsError(f"{path / 'results.jsonl'} line {lineno}: reward/correct/parse_failure are not numbers") from None
            task = _row_task(row, default_task)
            configs.setdefault(task, _row_config(row))
            by_task[task].append(
                {
                    "example_id": row.get("example_id", (lineno - 1) // rpe),
                    "reward": reward,
                    # envs without a `correct` metric: the reward is the best score we have
                    "correct": correct,
                    "parse_failure": parse_failure,
                    "completion_tokens": _row_tokens(row),
                    "latency_s": _row_latency(row),
                    "error": rollout_error(row),
                }
            )
    if not by_task:
        raise ResultsError(f"{path / 'results.jsonl'} has no rollouts")
    folder = str(path.resolve())
    stamp = _file_stamp(path / "metadata.json")
    out = []
    for task, rows in by_task.items():
        r = summarize_rollouts(model, task, rows, rpe, extra={"source": str(path), "env_id": env_id})
        r.run = RunInfo(
            model=model, env_id=env_id, task_args=task_args_from_env_args(env_args, task),
            env_args=prompt_env_args(env_args), generation=normalize_generation(generation),
            source=str(path), kind="vf-eval", group=f"vf:{folder}", identity=f"vf:{folder}:{task}",
            timestamp=stamp, provenance=prov, effective_config=configs.get(task),
        )
        out.append(r)
    return out


def _read_one(path: Path) -> list[ModelTaskResult]:
    if path.is_dir():
        return _read_vf_eval_dir(path)
    return _read_json_doc(path)


def _sort_key(path: Path) -> tuple[str, str]:
    """Chronological key: the timestamp in our file names, else the modification time."""
    m = re.search(r"_(\d{8}_\d{6})(?:_shard\d+of\d+)?\.json$", path.name)
    if m:
        return (m.group(1), str(path))
    return (_file_stamp(path / "metadata.json" if path.is_dir() else path), str(path))


def _discover(folder: Path) -> list[Path]:
    found = [p for p in folder.rglob("results_*.json") if p.is_file()]
    found += [m.parent for m in folder.rglob("metadata.json") if _is_vf_eval_dir(m.parent)]
    return sorted(set(found), key=_sort_key)


def load_results(paths: Union[PathLike, Sequence[PathLike]], latest: bool = False) -> ResultsTable:
    """Load any mix of single-task files, all-tasks files and vf-eval -s folders.

    A folder that is not itself a vf-eval run is searched recursively for both kinds, oldest
    first. Every distinct run is kept (see the module docstring for the keying and labels);
    `latest=True` keeps only the newest of runs with identical settings.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    loaded: list[ModelTaskResult] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ResultsError(f"results path not found: {p}")
        if p.is_dir() and not _is_vf_eval_dir(p):
            sources = _discover(p)
            if not sources:
                raise ResultsError(f"no results_*.json files or vf-eval -s folders found under {p}")
        else:
            sources = [p]
        for src in sources:
            loaded += _read_one(src)
    if not loaded:
        raise ResultsError("the given results contain no (model, task) entries")
    return build_table(loaded, latest=latest)


# ---------------------------------------------------------------------------------------------
# one table from many runs: nothing lost, every run told apart


def _newest(results: Sequence[ModelTaskResult]) -> ModelTaskResult:
    return max(results, key=lambda r: (r.run.timestamp, r.n_rollouts + r.n_errors))


def _names(results: Iterable[ModelTaskResult]) -> str:
    return ", ".join(dict.fromkeys(r.run.source for r in results))


def _dedup(results: list[ModelTaskResult], key, keep, notes: list[str], note) -> list[ModelTaskResult]:
    groups: dict[Any, list[ModelTaskResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    out = []
    for rs in groups.values():
        best = keep(rs)
        if len(rs) > 1:
            msg = note(best, rs)
            if msg:
                notes.append(msg)
        out.append(best)
    return out


def _run_text(run: RunInfo) -> str:
    try:
        when = datetime.strptime(run.timestamp[:15], TIMESTAMP_FORMAT).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        when = run.timestamp or "?"
    return f"{run.kind} {when}".strip()


def _descriptors(group: dict[str, ModelTaskResult]) -> dict[str, str]:
    """What could tell this series apart from another one of the same model, field by field."""
    run = next(iter(group.values())).run
    gen, env = run.generation, run.env_args
    system_prompt = env.get("system_prompt")
    return {
        "temperature": f"T={_fmt_num(gen['temperature'])}" if "temperature" in gen else "T=default",
        "max_tokens": f"max_tokens={gen['max_tokens']}" if "max_tokens" in gen else "max_tokens=default",
        "top_p": f"top_p={_fmt_num(gen['top_p'])}" if "top_p" in gen else "top_p=default",
        "sampling_seed": f"sampling seed={gen['seed']}" if "seed" in gen else "no sampling seed",
        "seed": f"seed={env.get('seed', PROMPT_ENV_ARGS['seed'])}",
        "prompt_placement": f"prompt in {env.get('prompt_placement', PROMPT_ENV_ARGS['prompt_placement'])}",
        "system_prompt": "default system prompt" if system_prompt is None else
        f"system prompt #{hashlib.sha256(str(system_prompt).encode()).hexdigest()[:6]}",
        "env_id": run.env_id or "",
        "run": _run_text(run),
        "source": Path(run.source).name,
    }


def _label_series(model: str, groups: list[dict[str, ModelTaskResult]]) -> list[str]:
    """Suffixes for the series of one model: empty unless two series cover the same task.

    Each pair of series sharing a task is told apart by the first thing that differs, in this
    order: the task's difficulty/config, generation settings, prompt-changing env args, the
    environment, the run's time, the folder name. A series shows only what its own pairs need,
    so a difficulty-3 run next to a default one reads `model [difficulty=3]` and `model`.
    """
    shared: dict[tuple[int, int], list[str]] = defaultdict(list)
    for t in dict.fromkeys(t for g in groups for t in g):
        ids = [i for i, g in enumerate(groups) if t in g]
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                shared[(ids[a], ids[b])].append(t)
    if not shared:
        return [""] * len(groups)
    desc = [_descriptors(g) for g in groups]
    colliding = [sorted({t for (i, j), ts in shared.items() if k in (i, j) for t in ts}) for k in range(len(groups))]
    # a series with one difficulty/config over its contested tasks shows it; a mixture with
    # several shows where it came from instead (the report's difficulty/config column has each)
    args_text = []
    for k, g in enumerate(groups):
        texts = {format_task_args(g[t].run.task_args) for t in colliding[k]}
        args_text.append(texts.pop() if len(texts) == 1 else desc[k]["env_id"] or desc[k]["run"])
    fields = ["args", *desc[0]]
    needed: list[set[str]] = [set() for _ in groups]
    for (i, j), tasks in shared.items():
        for name in fields:
            if name == "args":
                a = {format_task_args(groups[i][t].run.task_args) for t in tasks}
                b = {format_task_args(groups[j][t].run.task_args) for t in tasks}
                differs = a != b
            else:
                differs = desc[i][name] != desc[j][name]
            if differs:
                needed[i].add(name)
                needed[j].add(name)
                break

    def value(k: int, name: str) -> str:
        return args_text[k] if name == "args" else desc[k][name]

    suffixes = [", ".join(v for name in fields if name in needed[k] and (v := value(k, name))) for k in range(len(groups))]
    # the display of a mixture's args may coincide with another field; number what still clashes
    for (i, j) in shared:
        if suffixes[i] == suffixes[j]:
            for k in (i, j):
                name = desc[k]["source"]
                if name not in suffixes[k]:
                    suffixes[k] = f"{suffixes[k]}, {name}" if suffixes[k] else name
    for n, (i, j) in enumerate(p for p in shared if suffixes[p[0]] == suffixes[p[1]]):
        suffixes[j] = f"{suffixes[j]}, #{n + 2}"
    return suffixes


def build_table(results: list[ModelTaskResult], latest: bool = False) -> ResultsTable:
    """A table of loaded results (each with its `run`); see the module docstring for the rules."""
    notes: list[str] = []
    for r in results:
        if r.run is None:
            r.run = RunInfo(model=r.model, identity=f"{id(r)}", group=f"{id(r)}")

    def same_rollouts_note(best, rs):
        counts = {(r.n_rollouts, r.n_errors) for r in rs}
        if len(counts) == 1:  # a benchmark's per-task and all-tasks files: nothing to say
            return None
        return (f"{best.task} × {best.model}: {len(rs)} summaries of the same rollouts ({_names(rs)}); "
                f"the newest is used ({best.run.source})")

    results = _dedup(results, lambda r: (r.run.identity, r.run.settings(r.task)), _newest, notes, same_rollouts_note)
    if latest:
        results = _dedup(
            results, lambda r: r.run.settings(r.task), _newest, notes,
            lambda best, rs: (f"{best.task} × {best.model}: --latest kept {best.run.source}, set aside "
                              f"{_names(r for r in rs if r is not best)} (same settings)"),
        )

    # one series per (model, experiment, generation settings); a task repeated inside one is split by time
    series_key = {id(r): (r.run.group, json.dumps([r.run.generation, r.run.env_args], sort_keys=True, default=str))
                  for r in results}
    seen: dict[tuple, set] = defaultdict(set)
    repeated = set()
    for r in results:
        k = (r.run.model,) + series_key[id(r)]
        if r.task in seen[k]:
            repeated.add(k)
        seen[k].add(r.task)
    for r in results:
        if (r.run.model,) + series_key[id(r)] in repeated:
            series_key[id(r)] += (r.run.timestamp,)

    by_model: dict[str, dict[tuple, dict[str, ModelTaskResult]]] = {}
    for r in results:
        by_model.setdefault(r.run.model, {}).setdefault(series_key[id(r)], {})[r.task] = r
    for model, groups in by_model.items():
        group_list = list(groups.values())
        for g, suffix in zip(group_list, _label_series(model, group_list)):
            for r in g.values():
                r.run.suffix = suffix
                r.run.label = f"{model} [{suffix}]" if suffix else model

    table = ResultsTable(notes=notes)
    for r in results:
        table.add(r, r.run.label)
        table.series[r.run.label] = (r.run.model, r.run.suffix)
    return table


def require_task(table: ResultsTable, task: str) -> None:
    if task not in table.results:
        raise ResultsError(f"no results for task {task!r}{did_you_mean(task, table.tasks)}")


def require_model(table: ResultsTable, model: str) -> None:
    if model not in table.models:
        raise ResultsError(f"no results for model {model!r}{did_you_mean(model, table.models)}")
