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


# reading lives with the other readers (rg_verifiers.results.readers.rg_eval); re-exported here
from .results.readers.rg_eval import is_rg_eval_dir, is_rg_eval_task_file, read_run_dir, read_task_file  # noqa: E402,F401


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
