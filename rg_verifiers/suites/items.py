"""Eval rows in reasoning-gym items mode: item i is `reasoning_gym.create_dataset(name, seed=seed,
size=size, **params)[i]`, for i < size, in order.

Unlike rg-verifiers' own splits (`data.build_split`: eval seeds shifted by 10,000,000, repeated
questions skipped) nothing is shifted or skipped, so a suite's items are the ones reasoning-gym's
`eval/eval.py` asks and the paper's runs answered. Tasks whose items depend on PYTHONHASHSEED are
generated in a worker with PYTHONHASHSEED=0 as everywhere else (`data._entry_stream`): stable from
run to run, though not necessarily the hash seed of the published runs.
"""

from __future__ import annotations

from typing import Any

import json
import logging
import os

from .. import serialization
from ..data import TaskSpec, _cache_dir, _cache_key, _entry_stream, _row
from ..errors import RGVError

log = logging.getLogger("rg_verifiers")
RG_ITEMS_KEYS = ("seed", "size")


def parse_rg_items(value: Any, default_size: int) -> dict:
    """The `rg_items` environment argument: {"seed": int, "size": int (default num_eval_examples)}."""
    if value is True:
        raise RGVError("rg_items needs a seed: rg_items={\"seed\": 45, \"size\": 50} (size defaults to num_eval_examples)")
    if not isinstance(value, dict):
        raise RGVError(f"rg_items must be a mapping {{\"seed\": int, \"size\": int}}, got {value!r}")
    unknown = [k for k in value if k not in RG_ITEMS_KEYS]
    if unknown:
        from ..errors import did_you_mean

        raise RGVError(f"unknown rg_items key {unknown[0]!r}{did_you_mean(str(unknown[0]), RG_ITEMS_KEYS)} "
                       f"(task params go in config)")
    seed, size = value.get("seed"), value.get("size", default_size)
    for name, v, lo in (("seed", seed, 0), ("size", size, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise RGVError(f"rg_items {name} must be an integer >= {lo}, got {v!r}"
                           + (" (reasoning-gym's unseeded datasets are random; give the seed)" if v is None else ""))
    return {"seed": seed, "size": size}


def rg_item_rows(spec: TaskSpec, seed: int, size: int, use_cache: bool = True) -> list[dict]:
    """Item i of create_dataset(spec.name, seed=seed, size=size, **spec.config), for i < size, each row
    keeping its index (`info["index"]`). An item reasoning-gym cannot generate (knight_swap's hard
    item 15 raises in 0.1.25 after 100 boards) is left out and logged: its index is missing, the
    others keep theirs, and `rgv bench` names it; reasoning-gym's eval.py would lose the whole task."""
    if spec.difficulty is not None:
        raise RGVError("rg_items takes task params in config, not a difficulty level (create_dataset has none)")
    config_json = spec.config_json(seed, size)
    key = _cache_key("rg_items", spec.name, config_json)
    path = _cache_dir() / f"{key}.json"
    if use_cache and path.exists():
        try:
            return json.loads(path.read_text())["rows"]
        except (ValueError, KeyError, TypeError):
            pass  # a torn cache file is rebuilt
    rows, failed = [], []
    for index, entry_json in _entry_stream(spec.name, config_json, 0, size):
        if index >= size:
            break
        if entry_json is None:
            failed.append(index)
            continue
        rows.append(_row(spec.name, config_json, serialization.loads(entry_json), entry_json, "eval", index))
    if failed:
        log.warning("%s: reasoning-gym could not generate item(s) %s of seed %d, size %d; left out",
                    spec.name, ", ".join(map(str, failed)), seed, size)
    if not rows:
        raise RGVError(f"{spec.name}: reasoning-gym generated none of the {size} items of seed {seed}")
    if use_cache and not failed:  # a failure may be a worker timeout: built again next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"rows": rows}))
        os.replace(tmp, path)
    return rows


def missing_items(rows: list[dict], size: int) -> list[int]:
    """Indices below `size` that have no row (reasoning-gym could not generate them)."""
    have = {r["info"]["index"] for r in rows}
    return [i for i in range(size) if i not in have]


def rg_default_system_prompt() -> str:
    from .config import rg_system_prompt

    return rg_system_prompt(None)


def rg_items_split(specs: list[TaskSpec], args) -> tuple[list[dict], list, str | None]:
    """(eval rows, split reports, system prompt) of an environment in reasoning-gym items mode."""
    from ..data import SplitReport

    if len(specs) != 1:
        raise RGVError("rg_items builds one task's items; give one task name")
    items = parse_rg_items(args.rg_items, args.num_eval_examples)
    rows = rg_item_rows(specs[0], items["seed"], items["size"], use_cache=args.cache)
    report = SplitReport(specs[0].name, "eval", items["size"], len(rows), len(rows), 0)
    prompt = rg_default_system_prompt() if args.system_prompt is None else args.system_prompt
    return rows, [report], prompt


def rg_items_prompt_rows(task: str, config: dict | None, rg_items: dict, system_prompt: str | None,
                         use_cache: bool = True) -> list[dict]:
    """The eval rows, prompts included, that an environment given these arguments builds
    (`load_rg_environment(task, rg_items=..., config=..., system_prompt=...)`), without building the
    environment: `rgv bench --suite` asks them without importing verifiers (seconds of start-up)."""
    from types import SimpleNamespace

    from ..data import to_prompt_rows

    spec = TaskSpec.parse(task)
    spec.config = dict(config or {})
    spec.config_json(0, 1)  # a bad param is one line now, as in the environment
    args = SimpleNamespace(rg_items=rg_items, num_eval_examples=rg_items.get("size", 1), cache=use_cache, system_prompt=system_prompt)
    rows, _, prompt = rg_items_split([spec], args)
    # the item's index as its id: a missing item leaves a gap rather than shifting the rest
    return [{**r, "example_id": r["info"]["index"]} for r in to_prompt_rows(rows, prompt, "system")]
