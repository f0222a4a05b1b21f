"""Train/eval rows for one task or a weighted mixture, reproducible in any process.

- Disjoint seeds: reasoning-gym builds item i of seed s from Random(s + i), so seeds s and s+1
  share all but one item. Eval items come from seed + EVAL_SEED_OFFSET, train from seed, and
  train never draws EVAL_SEED_OFFSET items or more.
- De-duplication: eval is built first (so it is fixed whatever num_train is), unique by
  question; train skips any question already in eval or in train. A config that cannot yield
  enough distinct questions gives fewer rows and a warning.
- Determinism: tasks whose output depends on PYTHONHASHSEED are generated in a worker started
  with PYTHONHASHSEED=0 (also codeio, which writes files into its cwd, and the slow generators,
  which use both cores that way); list_functions' global `random` is seeded per item.
- Rows are cached on disk (RGV_CACHE_DIR, default ~/.cache/rg-verifiers) since slow tasks take
  minutes per 1000 items.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from . import serialization
from .errors import RGVError
from .protocol import build_messages
from .scoring.core import dataset_for, generate_entry
from .tasks import build_config, config_class, dataset_class, resolve_task

log = logging.getLogger("rg_verifiers")

EVAL_SEED_OFFSET = 10_000_000
DATA_FORMAT = 3
HASH_DEPENDENT = frozenset({"isomorphic_strings", "ransom_note", "polynomial_multiplication", "knight_swap", "word_ladder"})
SLOW_GENERATORS = frozenset({
    "knight_swap", "futoshiki", "zebra_puzzles", "puzzle24", "sokoban", "intermediate_integration",
    "quantum_lock", "sudoku", "countdown", "rubiks_cube", "polynomial_equations", "number_sequence",
    "game_of_life", "advanced_geometry", "jugs",
})
GENERATE_IN_WORKER = HASH_DEPENDENT | SLOW_GENERATORS | {"codeio"}
GENERATE_TIMEOUT_S = 180.0


@dataclass
class TaskSpec:
    name: str
    weight: float = 1.0
    config: dict[str, Any] = field(default_factory=dict)
    difficulty: int | None = None

    @classmethod
    def parse(cls, raw: Any) -> "TaskSpec":
        if isinstance(raw, TaskSpec):
            return raw
        if isinstance(raw, str):
            return cls(resolve_task(raw))
        if isinstance(raw, dict):
            unknown = set(raw) - {"name", "weight", "config", "difficulty"}
            if unknown or "name" not in raw:
                raise RGVError(f"a task entry needs 'name' and may have 'weight', 'config', 'difficulty'; got keys {sorted(raw)}")
            spec = cls(resolve_task(raw["name"]), float(raw.get("weight", 1.0)), dict(raw.get("config") or {}), raw.get("difficulty"))
            if not spec.weight > 0:
                raise RGVError(f"task {spec.name!r}: weight must be > 0, got {spec.weight}")
            return spec
        raise RGVError(f"a task must be a name or a {{'name', 'weight', 'config', 'difficulty'}} mapping, got {raw!r}")

    def config_json(self, seed: int, size: int) -> str:
        cfg = build_config(self.name, self.config, self.difficulty, seed=seed, size=size)
        # field by field, not asdict(): nested dataclasses and enums must keep their types
        return serialization.dumps({f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})


@dataclass
class SplitReport:
    task: str
    split: str
    requested: int
    obtained: int
    attempts: int
    duplicates_skipped: int
    generation_errors: int = 0


def allocate(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of `total` by weight (deterministic, sums to total)."""
    raw = [total * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _cache_dir() -> Path:
    from .embedded import cache_root

    return cache_root() / "splits"


def _cache_key(*parts: Any) -> str:
    import reasoning_gym

    blob = json.dumps([DATA_FORMAT, getattr(reasoning_gym, "__version__", "?"), *parts], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _entry_stream(task: str, config_json: str, start: int, wanted: int = 8) -> Iterator[tuple[int, str | None]]:
    """(index, entry_json or None on failure) from `start` on, in index order."""
    if task not in GENERATE_IN_WORKER:
        ds = dataset_for(task, config_json)
        i = start
        while True:
            try:
                yield i, serialization.dumps(generate_entry(ds, i))
            except Exception as exc:  # a generator bug must not kill the env
                log.debug("generation of %s[%d] failed: %s", task, i, exc)
                yield i, None
            i += 1
    else:
        # a few rows (gold checks per level) must not pay for 32 prefetched items, some of which
        # take minutes (number_sequence at level 2+, jugs at level 2)
        chunk = min(8, max(1, wanted))
        yield from _worker_stream(task, config_json, start, chunk, chunks_ahead=-(-wanted // chunk))


def _worker_stream(task, config_json, start, chunk=8, chunks_ahead=None):
    """Chunks of indices generated by the scoring workers in parallel, yielded in index order."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from .scoring import get_scorer

    pool = get_scorer().pool

    def generate(lo: int) -> dict[int, str | None]:
        got: dict[int, str | None] = {}
        try:
            with pool.checkout() as worker:
                try:
                    for reply in worker.request({"op": "generate", "task": task, "config": config_json,
                                                 "start": lo, "stop": lo + chunk}, chunk, GENERATE_TIMEOUT_S):
                        got[reply["i"]] = reply.get("entry")
                except Exception:  # hung or died on an item: the rest of the chunk counts as failed
                    worker._try_restart()
        except Exception as exc:
            log.debug("generation chunk %s[%d:] failed: %s", task, lo, exc)
        return got

    executor = ThreadPoolExecutor(max_workers=pool.size, thread_name_prefix="rgv-gen")
    in_flight: deque = deque()
    nxt = start
    try:
        while True:
            while len(in_flight) < min(2 * pool.size, chunks_ahead or 2 * pool.size):
                in_flight.append((nxt, executor.submit(generate, nxt)))
                nxt += chunk
            lo, future = in_flight.popleft()
            got = future.result()
            for i in range(lo, lo + chunk):
                yield i, got.get(i)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def build_rows(spec: TaskSpec, split: str, seed: int, n: int, exclude: set[str], progress) -> tuple[list[dict], SplitReport]:
    """Up to n rows of distinct questions not in `exclude`."""
    base_seed = seed + (EVAL_SEED_OFFSET if split == "eval" else 0)
    max_attempts = min(max(4 * n, n + 200), EVAL_SEED_OFFSET - 1)
    # the config's size bounds the index range reasoning-gym accepts; a few tasks also bound the
    # size itself (word_ladder: the word pairs), so fall back to the requested count for those
    try:
        config_json = spec.config_json(base_seed, max_attempts)
    except RGVError:
        config_json = spec.config_json(base_seed, max(n, 1))
        max_attempts = max(n, 1)
    rows, seen = [], set()
    report = SplitReport(spec.name, split, n, 0, 0, 0)
    if n == 0:
        return rows, report
    task_bar = progress(f"{spec.name} [{split}]", n)
    for index, entry_json in _entry_stream(spec.name, config_json, 0, n):
        report.attempts += 1
        if entry_json is None:
            report.generation_errors += 1
        else:
            entry = serialization.loads(entry_json)
            q = entry["question"]
            if q in seen or q in exclude:
                report.duplicates_skipped += 1
            else:
                seen.add(q)
                rows.append(_row(spec.name, config_json, entry, entry_json, split, index))
                task_bar(1)
        if len(rows) >= n or report.attempts >= max_attempts:
            break
    report.obtained = len(rows)
    if report.obtained < n:
        log.warning("%s: only %d distinct %s questions in %d attempts (asked for %d); widen the task config for more",
                    spec.name, report.obtained, split, report.attempts, n)
    return rows, report


def _row(task, config_json, entry, entry_json, split, index) -> dict:
    answer = entry.get("answer")
    return {
        "question": entry["question"],
        "answer": "" if answer is None else str(answer),
        "info": {"rg_task": task, "config": config_json, "entry": entry_json, "split": split, "index": index},
    }


def build_split(specs: list[TaskSpec], split: str, n: int, seed: int, exclude: set[str] = frozenset(),
                use_cache: bool = True) -> tuple[list[dict], list[SplitReport]]:
    """Rows for a (possibly weighted) mixture; tasks are interleaved deterministically."""
    import random

    counts = allocate(n, [s.weight for s in specs])
    key_parts = [split, seed, n, [dataclasses.asdict(s) for s in specs], sorted(exclude) if split == "train" else None]
    sources = [_source_fingerprint(s) for s in specs]
    if any(f is not None for f in sources):  # rows read from files (the math datasets): rebuilt when a file changes
        key_parts.append(sources)
    key = _cache_key(*key_parts)
    path = _cache_dir() / f"{key}.json"
    if use_cache and path.exists():
        try:
            cached = json.loads(path.read_text())
            return cached["rows"], [SplitReport(**r) for r in cached["reports"]]
        except (ValueError, KeyError, TypeError):
            pass  # a torn or old cache file is rebuilt
    all_rows: list[dict] = []
    reports = []
    with _progress() as progress:
        for spec, k in zip(specs, counts):
            rows, report = build_rows(spec, split, seed, k, set(exclude), progress)
            all_rows += rows
            reports.append(report)
    if len(specs) > 1:
        random.Random(f"rgv:{seed}:{split}").shuffle(all_rows)
    # a split with generator failures (e.g. a worker timeout) may differ next time: not cached
    if use_cache and not any(r.generation_errors for r in reports):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"rows": all_rows, "reports": [dataclasses.asdict(r) for r in reports]}))
        os.replace(tmp, path)
    return all_rows, reports


def _source_fingerprint(spec: TaskSpec):
    """What a task's rows depend on beyond its spec (a dataset task's local files), or None."""
    fingerprint = getattr(dataset_class(spec.name), "cache_fingerprint", None)
    return fingerprint(config_class(spec.name), spec.config) if fingerprint is not None else None


class _progress:
    """A rich progress bar on a terminal, silent otherwise."""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("building {task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), transient=True, disable=not sys.stderr.isatty())
        self.bar.__enter__()
        return self

    def __call__(self, description: str, total: int):
        tid = self.bar.add_task(description, total=total)
        return lambda k: self.bar.advance(tid, k)

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)


def to_prompt_rows(rows: list[dict], system_prompt: str | None, placement: str) -> list[dict]:
    return [{**r, "prompt": build_messages(r["question"], system_prompt, placement)} for r in rows]
