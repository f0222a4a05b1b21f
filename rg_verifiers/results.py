"""Results schema shared by the benchmark runner, the plots and the reports.

One `ModelTaskResult` per (model, task). Files on disk are JSON tagged with
`"schema": "rg-verifiers/results/v1"` so that plots can tell our files from anything else:

- `results_<task>_<timestamp>.json` (kind "task"): `{"models": {model: result}}`
- `results_all_tasks_<timestamp>.json` (kind "all_tasks"): `{"results": {task: {model: result}}}`

`load_results` also reads `vf-eval -s` output folders (metadata.json + results.jsonl), so a
quick vf-eval run can be plotted next to a full benchmark without conversion.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
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


@dataclass
class ModelTaskResult:
    model: str
    task: str
    n_examples: int
    n_rollouts: int
    accuracy: float
    accuracy_ci95: tuple[float, float]
    mean_reward: float
    parse_failure_rate: float
    pass_at_k: dict[int, float] = field(default_factory=dict)
    mean_completion_tokens: Optional[float] = None
    mean_latency_s: Optional[float] = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["accuracy_ci95"] = list(self.accuracy_ci95)
        # JSON object keys are strings; write them so explicitly so a round trip is lossless
        d["pass_at_k"] = {str(k): v for k, v in sorted(self.pass_at_k.items())}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], model: Optional[str] = None, task: Optional[str] = None) -> "ModelTaskResult":
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        # fields added by a newer writer are kept rather than dropped
        unknown = {k: v for k, v in d.items() if k not in known}
        kwargs.setdefault("model", model)
        kwargs.setdefault("task", task)
        missing = [n for n in ("model", "task", "n_examples", "n_rollouts", "accuracy") if kwargs.get(n) is None]
        if missing:
            raise ResultsError(f"result entry for model={model!r} task={task!r} lacks {', '.join(missing)}")
        n = int(kwargs["n_rollouts"])
        acc = float(kwargs["accuracy"])
        ci = kwargs.get("accuracy_ci95") or wilson_interval(acc * n, n)
        kwargs["accuracy_ci95"] = (float(ci[0]), float(ci[1]))
        kwargs["pass_at_k"] = {int(k): float(v) for k, v in (kwargs.get("pass_at_k") or {}).items()}
        kwargs.setdefault("mean_reward", acc)
        kwargs.setdefault("parse_failure_rate", 0.0)
        kwargs["extra"] = {**unknown, **(kwargs.get("extra") or {})}
        return cls(**kwargs)


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
    parse_failure (0/1), completion_tokens (int|None), latency_s (float|None).
    """
    if not rollouts:
        raise ResultsError(f"no rollouts to summarize for model {model!r} on task {task!r}")
    n = len(rollouts)
    scores = [min(max(float(r.get("correct", r.get("reward", 0.0))), 0.0), 1.0) for r in rollouts]
    accuracy = sum(scores) / n
    by_example: dict[Any, list[float]] = defaultdict(list)
    for r, s in zip(rollouts, scores):
        by_example[r.get("example_id")].append(s)

    pass_k: dict[int, float] = {}
    if rollouts_per_example > 1:
        for k in default_ks(rollouts_per_example):
            # examples with fewer than k rollouts (e.g. a crashed request) cannot estimate pass@k
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
        mean_reward=sum(float(r.get("reward", 0.0)) for r in rollouts) / n,
        parse_failure_rate=sum(float(r.get("parse_failure", 0) or 0) for r in rollouts) / n,
        pass_at_k=pass_k,
        mean_completion_tokens=_mean_or_none(r.get("completion_tokens") for r in rollouts),
        mean_latency_s=_mean_or_none(r.get("latency_s") for r in rollouts),
        extra=dict(extra or {}),
    )


def average_over_tasks(per_task: Iterable[ModelTaskResult]) -> dict[str, Any]:
    """Macro average (each task weighs the same) with a Wilson interval.

    The interval uses the pooled rollout count at the macro mean: exact in the usual case of
    equal-sized tasks, and slightly conservative there (mean of p(1-p) <= p̄(1-p̄)).
    """
    items = list(per_task)
    if not items:
        return {"accuracy": 0.0, "accuracy_ci95": [0.0, 0.0], "n_tasks": 0}
    acc = sum(r.accuracy for r in items) / len(items)
    n = sum(r.n_rollouts for r in items)
    lo, hi = wilson_interval(acc * n, n)
    return {"accuracy": acc, "accuracy_ci95": [lo, hi], "n_tasks": len(items)}


# ---------------------------------------------------------------------------------------------
# table


@dataclass
class ResultsTable:
    """`{task: {model: ModelTaskResult}}`; insertion order is kept for tasks and models."""

    results: dict[str, dict[str, ModelTaskResult]] = field(default_factory=dict)

    def add(self, result: ModelTaskResult) -> None:
        # later sources win: re-running a model on a task replaces the older numbers
        self.results.setdefault(result.task, {})[result.model] = result

    @property
    def tasks(self) -> list[str]:
        return list(self.results)

    @property
    def models(self) -> list[str]:
        seen: dict[str, None] = {}
        for per_model in self.results.values():
            seen.update(dict.fromkeys(per_model))
        return list(seen)

    @property
    def is_single_task(self) -> bool:
        return len(self.results) == 1

    def get(self, task: str, model: str) -> Optional[ModelTaskResult]:
        return self.results.get(task, {}).get(model)

    def common_tasks(self, models: Optional[Sequence[str]] = None) -> list[str]:
        models = list(models) if models is not None else self.models
        return [t for t in self.tasks if all(m in self.results[t] for m in models)]

    def average(self, tasks: Optional[Sequence[str]] = None) -> dict[str, dict[str, Any]]:
        """Per-model macro average over `tasks` (default: every task the model has)."""
        out = {}
        for m in self.models:
            ts = self.tasks if tasks is None else tasks
            out[m] = average_over_tasks(self.results[t][m] for t in ts if m in self.results.get(t, {}))
        return out


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
) -> Path:
    """Write `results_<task>_<timestamp>.json`; `results` maps model -> result (or is a list)."""
    ts = timestamp or make_timestamp()
    doc = {
        "schema": SCHEMA,
        "kind": "task",
        "task": task,
        "timestamp": ts,
        "config": dict(config or {}),
        "models": {m: r.to_dict() for m, r in _by_model(results).items()},
    }
    return _atomic_write_json(doc, Path(output_dir) / f"results_{_safe_name(task)}_{ts}.json")


def write_all_results(
    results: Union[Mapping[str, Mapping[str, ModelTaskResult]], Iterable[ModelTaskResult], ResultsTable],
    output_dir: PathLike,
    config: Optional[dict] = None,
    timestamp: Optional[str] = None,
) -> Path:
    """Write `results_all_tasks_<timestamp>.json` with per-model macro averages."""
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
    return _atomic_write_json(doc, Path(output_dir) / f"results_all_tasks_{ts}.json")


# ---------------------------------------------------------------------------------------------
# loading


def _read_json_doc(path: Path) -> list[ModelTaskResult]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not valid JSON ({e.msg} at line {e.lineno})") from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        if isinstance(schema, str) and schema.startswith("rg-verifiers/results/"):
            raise ResultsError(f"{path} uses schema {schema!r}; this version reads {SCHEMA!r}")
        raise ResultsError(f"{path} is not an rg-verifiers results file (no \"schema\": \"{SCHEMA}\")")
    kind = doc.get("kind")
    if kind == "task":
        task = doc["task"]
        return [ModelTaskResult.from_dict(d, model=m, task=task) for m, d in doc.get("models", {}).items()]
    if kind == "all_tasks":
        return [
            ModelTaskResult.from_dict(d, model=m, task=t)
            for t, per_model in doc.get("results", {}).items()
            for m, d in per_model.items()
        ]
    raise ResultsError(f"{path}: unknown results kind {kind!r} (expected 'task' or 'all_tasks')")


def _is_vf_eval_dir(path: Path) -> bool:
    return (path / "metadata.json").is_file() and (path / "results.jsonl").is_file()


def env_id_to_task(env_id: str) -> str:
    """`rg-leg-counting` -> `leg_counting` (env ids are kebab-case, rg task names snake_case)."""
    return re.sub(r"^rg-", "", env_id).replace("-", "_")


def _row_task(row: dict, default: str) -> str:
    info = row.get("info")
    if isinstance(info, str):  # some dataset writers serialize nested dicts as strings
        try:
            info = json.loads(info)
        except json.JSONDecodeError:
            info = None
    if isinstance(info, dict):
        # our environments keep the task in info["rg_task"] (verifiers 0.1.14+ reject info["task"])
        for key in ("rg_task", "task"):
            if info.get(key):
                return str(info[key])
    return default


def _row_latency(row: dict) -> Optional[float]:
    if row.get("latency_s") is not None:
        return float(row["latency_s"])
    # vf-eval records generation time per rollout in ms
    if row.get("generation_ms") is not None:
        return float(row["generation_ms"]) / 1000.0
    return None


def _read_vf_eval_dir(path: Path) -> list[ModelTaskResult]:
    try:
        meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path / 'metadata.json'} is not valid JSON ({e.msg})") from None
    missing = [k for k in ("env_id", "model") if not meta.get(k)]
    if missing:
        raise ResultsError(f"{path / 'metadata.json'} lacks {', '.join(missing)}; is this a vf-eval -s folder?")
    default_task = env_id_to_task(str(meta["env_id"]))
    rpe = int(meta.get("rollouts_per_example") or 1)
    by_task: dict[str, list[dict]] = defaultdict(list)
    with open(path / "results.jsonl", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ResultsError(f"{path / 'results.jsonl'} line {lineno} is not valid JSON ({e.msg})") from None
            reward = float(row.get("reward") or 0.0)
            by_task[_row_task(row, default_task)].append(
                {
                    "example_id": row.get("example_id", (lineno - 1) // rpe),
                    "reward": reward,
                    # envs without a `correct` metric: the reward is the best score we have
                    "correct": float(row["correct"]) if row.get("correct") is not None else reward,
                    "parse_failure": float(row.get("parse_failure") or 0),
                    "completion_tokens": row.get("completion_tokens"),
                    "latency_s": _row_latency(row),
                }
            )
    if not by_task:
        raise ResultsError(f"{path / 'results.jsonl'} has no rollouts")
    extra = {"source": str(path), "env_id": meta["env_id"]}
    return [summarize_rollouts(str(meta["model"]), t, rows, rpe, extra=extra) for t, rows in by_task.items()]


def _read_one(path: Path) -> list[ModelTaskResult]:
    if path.is_dir():
        return _read_vf_eval_dir(path)
    return _read_json_doc(path)


def _sort_key(path: Path) -> tuple[str, str]:
    """Chronological key: the timestamp in our file names, else the modification time."""
    m = re.search(r"_(\d{8}_\d{6})\.json$", path.name)
    if m:
        return (m.group(1), str(path))
    stamp_file = path / "metadata.json" if path.is_dir() else path
    return (datetime.fromtimestamp(stamp_file.stat().st_mtime).strftime(TIMESTAMP_FORMAT), str(path))


def _discover(folder: Path) -> list[Path]:
    found = [p for p in folder.rglob("results_*.json") if p.is_file()]
    found += [m.parent for m in folder.rglob("metadata.json") if _is_vf_eval_dir(m.parent)]
    return sorted(set(found), key=_sort_key)


def load_results(paths: Union[PathLike, Sequence[PathLike]]) -> ResultsTable:
    """Load any mix of single-task files, all-tasks files and vf-eval -s folders.

    A folder that is not itself a vf-eval run is searched recursively for both kinds, oldest
    first. When the same (task, model) appears twice, the later source wins: explicit paths in
    the order given, discovered ones by timestamp.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    table = ResultsTable()
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
            for r in _read_one(src):
                table.add(r)
    if not table.results:
        raise ResultsError("the given results contain no (model, task) entries")
    return table


def require_task(table: ResultsTable, task: str) -> None:
    if task not in table.results:
        raise ResultsError(f"no results for task {task!r}{did_you_mean(task, table.tasks)}")


def require_model(table: ResultsTable, model: str) -> None:
    if model not in table.models:
        raise ResultsError(f"no results for model {model!r}{did_you_mean(model, table.models)}")
