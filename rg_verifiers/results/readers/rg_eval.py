"""reasoning-gym's eval output folders (its `eval/eval.py`: summary.json + <category>/<task>.json),
read as results so runs of reasoning-gym's own harness chart beside ours. The format, and how
partial scores and summary-only tasks are counted: rg_verifiers.rg_eval_format (which writes it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Optional

from ..model import ModelTaskResult, ResultsError, RunInfo, summarize_rollouts
from ..stats import wilson_interval

NAME = "reasoning-gym eval folders (summary.json)"
SUMMARY = "summary.json"


def can_read(path: Path) -> bool:
    return (path / SUMMARY).is_file()


def find(folder: Path) -> Iterable[Path]:
    return (s.parent for s in folder.rglob(SUMMARY) if is_rg_eval_dir(s.parent))


def read(path: Path) -> list[ModelTaskResult]:
    if not is_rg_eval_dir(path):
        raise ResultsError(f"{path / SUMMARY} is not a reasoning-gym eval summary (no dataset_best_scores)")
    return read_run_dir(path)


def is_rg_eval_dir(path: Path) -> bool:
    if not (path / SUMMARY).is_file():
        return False
    try:
        doc = json.loads((path / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("dataset_best_scores"), dict)


def is_rg_eval_task_file(path: Path) -> bool:
    if path.suffix != ".json" or not path.is_file():
        return False
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "name" in doc and "results" in doc and any(
        k in doc for k in ("average_mean_score", "average_best_score", "average_score"))


def _generation(summary: dict) -> dict:
    """The sampling settings a reasoning-gym eval run records in its summary."""
    return {key: summary[key] for key in ("max_tokens", "temperature", "top_p") if summary.get(key) is not None}


def _load(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise ResultsError(f"{path} is not a JSON object")
    return doc


def read_task_file(path: Path, summary: Optional[dict] = None, run_folder: Optional[Path] = None) -> Any:
    doc = _load(path)
    summary = summary or {}
    task = str(doc["name"])
    model = str(summary.get("model") or (run_folder.name if run_folder else path.parent.parent.name))
    k = int(doc.get("completions_per_prompt") or summary.get("completions_per_prompt") or 1)
    rows = []
    for i, item in enumerate(doc.get("results") or []):
        completions = item.get("completions") or [{"model_answer": item.get("best_model_answer"),
                                                   "score": item.get("best_score", item.get("score"))}]
        for j, c in enumerate(completions):
            answer = c.get("model_answer")
            rows.append({"example_id": i, "rollout": j, "reward": float(c.get("score") or 0.0), "correct": float(c.get("score") or 0.0),
                         "parse_failure": int(answer is None), "error": c.get("error") if answer == "ERROR" else None})
    extra = {"category": doc.get("category"), "rg_eval": {"average_best_score": doc.get("average_best_score", doc.get("average_score")),
                                                          "config": doc.get("config")}}
    if rows:
        result = summarize_rollouts(model, task, rows, k, extra=extra)
    else:
        n = int(doc.get("total_examples") or 0)
        score = doc.get("average_mean_score", doc.get("average_score"))
        if not n or score is None:
            raise ResultsError(f"{path}: no per-item results and no total_examples/average score")
        result = ModelTaskResult(model, task, n, n * k, float(score), wilson_interval(float(score) * n * k, n * k), float(score), None, extra=extra)
    cfg = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    params = {key: v for key, v in cfg.items() if key not in ("size", "seed")}
    folder = str((run_folder or path.parent).resolve())
    result.run = RunInfo(model=model, env_id="rg-" + task.replace("_", "-"),
                         task_args={"config": params} if params else {},
                         generation=_generation(summary),
                         source=str(path), kind="rg-eval", group=f"rg:{folder}", identity=f"rg:{folder}:{task}",
                         timestamp=str(summary.get("timestamp") or ""),
                         provenance={"reasoning_gym_git_hash": summary.get("git_hash"), "provider": summary.get("provider"),
                                     "system_prompt": doc.get("system_prompt") or summary.get("system_prompt"),
                                     "rg_items": {"seed": cfg.get("seed"), "size": cfg.get("size")}})
    return result


def read_run_dir(path: Path) -> list:
    """Every task of a reasoning-gym eval output folder (task files where present, else summary.json)."""
    summary = _load(path / SUMMARY)
    files = {p.stem: p for p in sorted(path.glob("*/*.json")) if is_rg_eval_task_file(p)}
    out = [read_task_file(p, summary, path) for p in files.values()]
    total = int(summary.get("total_examples") or 0)
    tasks = summary.get("dataset_mean_scores") or summary.get("dataset_best_scores") or {}
    per_task_n = total // max(int(summary.get("total_datasets") or len(tasks) or 1), 1)
    k = int(summary.get("completions_per_prompt") or 1)
    model = str(summary.get("model") or path.name)
    for task, score in tasks.items():
        if task in files or score is None or not per_task_n:
            continue
        n = per_task_n * k
        r = ModelTaskResult(model, task, per_task_n, n, float(score), wilson_interval(float(score) * n, n), float(score), None,
                            extra={"rg_eval": {"from": "summary.json"}})
        r.run = RunInfo(model=model, env_id="rg-" + task.replace("_", "-"), source=str(path / SUMMARY), kind="rg-eval",
                        group=f"rg:{path.resolve()}", identity=f"rg:{path.resolve()}:{task}",
                        generation=_generation(summary))
        out.append(r)
    if not out:
        raise ResultsError(f"{path}: a reasoning-gym eval folder with no task results")
    return out


