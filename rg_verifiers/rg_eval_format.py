"""reasoning-gym's eval output (its `eval/eval.py`): read as results, and written from ours.

A run folder holds `summary.json` (`dataset_best_scores`, `dataset_mean_scores`, model and
sampling settings) and one `<category>/<task>.json` per task: `name`, `category`,
`average_best_score`, `average_mean_score` (older files: `average_score`), `total_examples`,
`config` (`size`, `seed`, params), `system_prompt`, `completions_per_prompt` and `results`: per
item `question`, `expected_answer`, `best_model_answer`, `best_full_model_response`,
`best_score`, `mean_score`, `completions` (`model_answer`, `full_model_response`, `score`; older
files leave completions out).

Reading: every completion is a rollout scored with its published score (a partial score counts
as that fraction, as reasoning-gym averages it); a task file without per-item results (or a run
with only summary.json) gives its published mean over `total_examples` items.
Writing: one run folder per series, in that shape, per-item results from the saved rollouts
where the run kept them (rgv bench, vf-eval -s), else the averages only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from .errors import RGVError

SUMMARY = "summary.json"


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


def _load(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RGVError(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise RGVError(f"{path} is not a JSON object")
    return doc


def read_task_file(path: Path, summary: Optional[dict] = None, run_folder: Optional[Path] = None) -> Any:
    from .results import ModelTaskResult, RunInfo, summarize_rollouts, wilson_interval

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
            raise RGVError(f"{path}: no per-item results and no total_examples/average score")
        result = ModelTaskResult(model, task, n, n * k, float(score), wilson_interval(float(score) * n * k, n * k), float(score), None, extra=extra)
    cfg = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    params = {key: v for key, v in cfg.items() if key not in ("size", "seed")}
    folder = str((run_folder or path.parent).resolve())
    result.run = RunInfo(model=model, env_id="rg-" + task.replace("_", "-"),
                         task_args={"config": params} if params else {},
                         generation={key: summary[key] for key in ("max_tokens", "temperature", "top_p") if summary.get(key) is not None},
                         source=str(path), kind="rg-eval", group=f"rg:{folder}", identity=f"rg:{folder}:{task}",
                         timestamp=str(summary.get("timestamp") or ""),
                         provenance={"reasoning_gym_git_hash": summary.get("git_hash"), "provider": summary.get("provider"),
                                     "system_prompt": doc.get("system_prompt") or summary.get("system_prompt"),
                                     "rg_items": {"seed": cfg.get("seed"), "size": cfg.get("size")}})
    return result


def read_run_dir(path: Path) -> list:
    """Every task of a reasoning-gym eval output folder (task files where present, else summary.json)."""
    from .results import ModelTaskResult, RunInfo, wilson_interval

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
                        generation={key: summary[key] for key in ("max_tokens", "temperature", "top_p") if summary.get(key) is not None})
        out.append(r)
    if not out:
        raise RGVError(f"{path}: a reasoning-gym eval folder with no task results")
    return out


# ---------------------------------------------------------------------------------------------
# writing


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "model"


def write_rg_eval(table, out_dir: Path, categories: Optional[dict] = None) -> list[Path]:
    """One reasoning-gym eval folder per series under `out_dir`: summary.json + <category>/<task>.json."""
    from .html_report import categories_for
    from .samples import all_samples

    cats = categories or categories_for(table, None)
    written = []
    for label in table.models:
        run_dir = Path(out_dir) / _safe(label)
        best, mean, total, gen = {}, {}, 0, {}
        for task in table.tasks:
            r = table.get(task, label)
            if r is None or r.accuracy is None:
                continue
            gen = gen or (dict(r.run.generation) if r.run else {})
            items = _items(all_samples(r))
            k = max((len(c) for c in items.values()), default=1)
            results = []
            for ex, comps in items.items():
                scores = [c.score for c in comps]
                best_c = max(comps, key=lambda c: c.score)
                results.append({"question": comps[0].question, "expected_answer": comps[0].expected,
                                "best_model_answer": best_c.answer, "best_full_model_response": best_c.completion,
                                "best_score": best_c.score, "mean_score": sum(scores) / len(scores),
                                "completions": [{"model_answer": c.answer, "full_model_response": c.completion, "score": c.score}
                                                for c in comps]})
            avg_best = sum(x["best_score"] for x in results) / len(results) if results else r.accuracy
            avg_mean = sum(x["mean_score"] for x in results) / len(results) if results else r.accuracy
            prov = (r.run.provenance if r.run else {}) or {}
            rg_items = (prov.get("env_args") or {}).get("rg_items") or r.extra.get("rg_items") or {}
            doc = {"name": task, "category": cats.get(task, "other"), "average_best_score": avg_best, "average_mean_score": avg_mean,
                   "total_examples": len(results) or r.n_examples,
                   "config": {"size": rg_items.get("size", r.n_examples), "seed": rg_items.get("seed"),
                              **((r.run.task_args.get("config") if r.run else None) or {})},
                   "system_prompt": (prov.get("env_args") or {}).get("system_prompt"),
                   "completions_per_prompt": k, "results": results}
            path = run_dir / doc["category"] / f"{task}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
            written.append(path)
            best[task], mean[task], total = avg_best, avg_mean, total + doc["total_examples"]
        summary = {"total_datasets": len(best), "total_examples": total, "dataset_best_scores": best, "dataset_mean_scores": mean,
                   "model": table.series_model(label), "provider": None, "max_tokens": gen.get("max_tokens"),
                   "temperature": gen.get("temperature"), "top_p": gen.get("top_p"), "written_by": "rg-verifiers", "partial": False}
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        written.append(run_dir / SUMMARY)
    return written


def _items(samples) -> dict:
    """Completions per item, items in order (rollouts are saved in the order they finished)."""
    out: dict = {}
    for s in samples:
        out.setdefault(s.example_id, []).append(s)
    return dict(sorted(out.items(), key=lambda kv: (not isinstance(kv[0], int), kv[0] if isinstance(kv[0], int) else str(kv[0]))))
