"""`rgv bench` results files: `results_<task>_<ts>.json` (kind "task": `{"models": {model: result}}`) and
`results_all_tasks_<ts>.json` (kind "all_tasks": `{"results": {task: {model: result}}}`), both tagged
`"schema": "rg-verifiers/results/v1"`. It takes any file the readers before it did not (readers of other
file formats go before it), so a file that is none of ours gets its one-line reason here (not
JSON, no schema, another schema version)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

from ..model import SCHEMA, ModelTaskResult, ResultsError, RunInfo, normalize_generation, prompt_env_args, task_args_from_env_args
from .common import file_stamp, mapping, read_json_file

NAME = "results_*.json files"


def can_read(path: Path) -> bool:
    return path.is_file()


def find(folder: Path) -> Iterable[Path]:
    return (p for p in folder.rglob("results_*.json") if p.is_file())


def read(path: Path) -> list[ModelTaskResult]:
    doc = read_json_file(path)
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

    cfg = mapping(doc.get("config"))
    file_prov = mapping(doc.get("provenance"))
    stamp = str(doc.get("timestamp") or "") or file_stamp(path)
    folder = str(path.parent.resolve())
    # what benchmark files held before provenance: the run's settings and its task specs
    legacy_tasks = cfg.get("tasks") if kind == "all_tasks" else [cfg.get("task")] if cfg.get("task") else cfg.get("tasks")
    legacy_env = {"tasks": legacy_tasks if isinstance(legacy_tasks, list) else [], "seed": cfg.get("seed")}
    legacy_gen = {k: cfg.get(k) for k in ("max_tokens", "temperature", "seed")}
    out = []
    for task, model, d in entries:
        r = ModelTaskResult.from_dict(d, model=model, task=task)
        prov = {**file_prov, **mapping(r.extra.pop("provenance", None))}
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
