"""`vf-eval -s` output folders of verifiers 0.1.x to 0.3.x (metadata.json + results.jsonl), so a quick
vf-eval run can be plotted next to a full benchmark. Row fields differ by version (latency as
`generation_ms` or timing spans, tokens as `completion_tokens` or `token_usage`); the helpers below
read each spelling."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional

from ..model import (ModelTaskResult, ResultsError, RunInfo, normalize_generation, prompt_env_args, rollout_error,
                     summarize_rollouts, task_args_from_env_args)
from .common import file_stamp, mapping, read_json_file

NAME = "vf-eval -s folders"


def can_read(path: Path) -> bool:
    return (path / "metadata.json").is_file() and (path / "results.jsonl").is_file()


def find(folder: Path) -> Iterable[Path]:
    return (m.parent for m in folder.rglob("metadata.json") if can_read(m.parent))


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


def read(path: Path) -> list[ModelTaskResult]:
    meta = read_json_file(path / "metadata.json")
    if not isinstance(meta, dict):
        raise ResultsError(f"{path / 'metadata.json'} is not a JSON object; is this a vf-eval -s folder?")
    return results_of(path, meta, _rows(path / "results.jsonl"), path / "metadata.json")


def _rows(file: Path) -> Iterator[tuple[int, Any]]:
    try:
        f = open(file, encoding="utf-8")
    except OSError as e:
        raise ResultsError(f"cannot read {file}: {e.strerror or e}") from None
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise ResultsError(f"{file} line {lineno} is not valid JSON ({e.msg})") from None


def results_of(path: Path, meta: dict, rows: Iterable[tuple[int, Any]], stamp_file: Path,
               rows_file: str = "results.jsonl") -> list[ModelTaskResult]:
    """Results per task from a run's metadata and its (line number, row) pairs in vf-eval 0.1.x's
    results.jsonl shape (verifiers 0.4 traces are read into the same shape: vf_eval_v1)."""
    meta_file = stamp_file.name
    prov = mapping(meta.get("rgv_provenance"))
    missing = [k for k in ("env_id", "model") if not (prov.get(k) or meta.get(k))]
    if missing:
        raise ResultsError(f"{path / meta_file} lacks {', '.join(missing)}; is this a vf-eval -s folder?")
    env_id = str(prov.get("env_id") or meta["env_id"])
    model = str(prov.get("label") or prov.get("model") or meta["model"])
    env_args = prov["env_args"] if isinstance(prov.get("env_args"), Mapping) else mapping(meta.get("env_args"))
    sampling = mapping(meta.get("sampling_args"))
    # our environments put the settings they resolved (defaults filled in) in sampling_args under
    # "rgv_generation" (rg_verifiers.generation.SAMPLING_KEY); older folders hold only what was asked
    generation = next((g for g in (prov.get("generation"), sampling.get("rgv_generation")) if isinstance(g, Mapping)), sampling)
    default_task = env_id_to_task(env_id)
    try:
        rpe = max(int(meta.get("rollouts_per_example") or 1), 1)
    except (TypeError, ValueError):
        raise ResultsError(f"{path / meta_file}: rollouts_per_example is not a number") from None
    by_task: dict[str, list[dict]] = defaultdict(list)
    configs: dict[str, Optional[dict]] = {}
    for lineno, row in rows:
        if not isinstance(row, dict):
            raise ResultsError(f"{path / rows_file} line {lineno} is not a JSON object")
        try:
            reward = float(row.get("reward") or 0.0)
            correct = float(row["correct"]) if row.get("correct") is not None else reward
            parse_failure = float(row.get("parse_failure") or 0)
        except (TypeError, ValueError):
            raise ResultsError(f"{path / rows_file} line {lineno}: reward/correct/parse_failure are not numbers") from None
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
        raise ResultsError(f"{path / rows_file} has no rollouts")
    folder = str(path.resolve())
    stamp = file_stamp(stamp_file)
    out = []
    for task, task_rows in by_task.items():
        r = summarize_rollouts(model, task, task_rows, rpe, extra={"source": str(path), "env_id": env_id})
        r.run = RunInfo(
            model=model, env_id=env_id, task_args=task_args_from_env_args(env_args, task),
            env_args=prompt_env_args(env_args), generation=normalize_generation(generation),
            source=str(path), kind="vf-eval", group=f"vf:{folder}", identity=f"vf:{folder}:{task}",
            timestamp=stamp, provenance=prov, effective_config=configs.get(task),
        )
        out.append(r)
    return out
