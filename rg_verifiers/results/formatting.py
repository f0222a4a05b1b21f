"""A run's settings as the short text tables, plots and labels show."""

from __future__ import annotations

import json
from typing import Any, Mapping

from .model import GENERATION_KEYS


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
