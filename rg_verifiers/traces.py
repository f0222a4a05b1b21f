"""verifiers 0.4 run folders (`vf-eval -o DIR`: `<run>/traces.jsonl` + `<run>/configs/resolved/eval.json`)
read as what vf-eval 0.1.x saves (`metadata.json` + `results.jsonl` rows), so every reader,
report and chart takes both.

One traces.jsonl line is one episode; each trace is one rollout: `task.data` is the item as the
taskset yielded it (our RGData: rg_task, config, entry, index...), `nodes` the messages, `calls`
the model requests (sampling as sent, usage, time), `rewards` {name: {score, weight}}, `metrics`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

TRACES_FILE = "traces.jsonl"
CONFIG_FILE = Path("configs") / "resolved" / "eval.json"
# RGTasksetConfig fields that are not environment arguments
_NOT_ENV_ARGS = ("id", "task", "split")


def is_v1_run(path: Path) -> bool:
    return (path / TRACES_FILE).is_file() and (path / CONFIG_FILE).is_file()


def read_metadata(path: Path) -> dict[str, Any]:
    """The run's settings in metadata.json's shape: env_id, model, rollouts_per_example,
    env_args, sampling_args (what the run set; the harness's own defaults are in each row)."""
    config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    env = config.get("env") or {}
    taskset = dict(env.get("taskset") or {})
    asked = {k: v for k, v in (config.get("sampling") or {}).items() if v is not None}
    # what the first request carried: the harness's defaults under what the run set
    sent = next((row.get("sampling") for _, row in iter_rows(path) if row.get("sampling")), None) or {}
    return {
        "env_id": taskset.get("id") or env.get("id"),
        "model": config.get("model"),
        "rollouts_per_example": config.get("num_rollouts") or 1,
        "env_args": {k: v for k, v in taskset.items() if k not in _NOT_ENV_ARGS},
        "sampling_args": {**sent, **asked},
        "base_url": (config.get("client") or {}).get("base_url"),
        "verifiers_api": "v1",
    }


def iter_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) per rollout, rows in results.jsonl's shape."""
    with open(path / TRACES_FILE, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                episode = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path / TRACES_FILE} line {lineno} is not valid JSON ({e.msg})") from None
            for trace in episode.get("traces") or []:
                yield lineno, trace_row(trace, episode)


def trace_row(trace: dict, episode: dict | None = None) -> dict[str, Any]:
    data = (trace.get("task") or {}).get("data") or {}
    rewards = {k: v for k, v in (trace.get("rewards") or {}).items() if isinstance(v, dict)}
    metrics = {k: v for k, v in (trace.get("metrics") or {}).items() if v is not None}
    messages = [n.get("message") or {} for n in trace.get("nodes") or []]
    calls = trace.get("calls") or []
    usage = [c.get("usage") or {} for c in calls]
    errors = list(trace.get("errors") or []) + ([] if episode is None else list(episode.get("errors") or []))
    reward = sum(float(r.get("score") or 0.0) * float(r.get("weight") or 0.0) for r in rewards.values())
    correct = rewards.get("correct", {}).get("score")
    return {
        "example_id": data.get("idx"),
        "prompt": [m for m in messages if m.get("role") in ("system", "user")],
        "completion": [m for m in messages if m.get("role") == "assistant"],
        "answer": data.get("answer"),
        "info": {k: data.get(k) for k in ("rg_task", "config", "entry", "split", "index") if k in data},
        "reward": reward,
        "correct": correct if correct is not None else reward,
        **{k: metrics[k] for k in ("format", "parse_failure", "score_failure") if k in metrics},
        "completion_tokens": sum(u.get("completion_tokens") or 0 for u in usage) if usage else None,
        "latency_s": sum((c.get("time") or {}).get("end", 0) - (c.get("time") or {}).get("start", 0) for c in calls) or None,
        "sampling": calls[-1].get("sampling") if calls else None,
        "stop_condition": trace.get("stop_condition"),
        "error": _error_line(errors[0]) if errors or trace.get("ok") is False else None,
    }


def _error_line(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type') or 'Error'}: {error.get('message') or ''}".strip()[:300]
    return str(error or "trace failed")[:300]
