"""Writing results files (`results_<task>_<ts>.json`, `results_all_tasks_<ts>.json`), atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

from .model import SCHEMA, TIMESTAMP_FORMAT, ModelTaskResult, PathLike
from .table import ResultsTable


def make_timestamp() -> str:
    return datetime.now().strftime(TIMESTAMP_FORMAT)


def safe_file_part(name: str) -> str:
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
    return _atomic_write_json(doc, Path(output_dir) / f"results_{safe_file_part(task)}_{ts}.json")


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
