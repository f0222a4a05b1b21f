"""Scoring: each task's own score_answer, never running model text in this process.

Routing (`mode`):
- "auto" (default): the tasks in `rg_verifiers.tasks.SANDBOXED` (scorers that eval/sympy
  model text, raise, recurse or are slow) go to worker processes with a time limit; the rest are
  plain string or number comparisons, scored here behind the same length cap and exception
  mapping, each under IN_PROCESS_BOUND_MS at the cap (bench/bench_inprocess.py measures it;
  tests/test_scoring.py checks it), and off the event loop in the async API.
- "sandbox": every task goes to the workers.
Failures never raise: they score 0.0 with a status that the rubric counts as a metric.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import threading
from typing import Sequence

from .. import serialization
from ..tasks import IN_PROCESS_BOUND_MS, SANDBOXED
from .core import DEFAULT_MAX_ANSWER_CHARS, STATUSES, ScoreResult, score_answer
from .pool import WorkerPool
from .sizing import worker_count

# (task, config_json, entry_json, answer)
ScoreItem = tuple[str, str, str, "str | None"]

__all__ = ["IN_PROCESS_BOUND_MS", "Scorer", "ScoreResult", "ScoreItem", "STATUSES", "get_scorer"]


class Scorer:
    def __init__(self, mode: str = "auto", workers: int | None = None, timeout_s: float = 10.0,
                 memory_mb: int = 4096, max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS):
        if mode not in ("auto", "sandbox"):
            raise ValueError(f"scoring mode must be 'auto' or 'sandbox', got {mode!r}")
        self.mode = mode
        self.timeout_s = timeout_s
        self.max_answer_chars = max_answer_chars
        # None: one per usable core, bounded by memory (sizing.py)
        self.pool = WorkerPool(worker_count() if workers is None else workers, memory_mb)
        self._pending: dict[asyncio.AbstractEventLoop, list] = {}
        self._lock = threading.Lock()

    def sandboxed(self, task: str) -> bool:
        return self.mode == "sandbox" or task in SANDBOXED

    # -- synchronous API (TRL reward functions, tests, benchmarks) --
    def _split(self, items: Sequence[ScoreItem]) -> tuple[list, list[int], list[int]]:
        """Results for parse failures, and the indices of in-process and of worker items."""
        results: list[ScoreResult | None] = [None] * len(items)
        local, remote = [], []
        for i, item in enumerate(items):
            if item[3] is None:
                results[i] = ScoreResult(0.0, "parse_failure")
            else:
                (remote if self.sandboxed(item[0]) else local).append(i)
        return results, local, remote

    def _score_local(self, items: Sequence[ScoreItem], local: list[int], results: list) -> list:
        for i in local:
            results[i] = self._score_here(items[i])
        return results

    def score_many(self, items: Sequence[ScoreItem]) -> list[ScoreResult]:
        results, local, remote = self._split(items)
        self._score_local(items, local, results)
        if remote:
            n = min(self.pool.size, len(remote))
            chunks = [remote[k::n] for k in range(n)]
            threads = [threading.Thread(target=self._score_remote, args=(chunk, items, results)) for chunk in chunks]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        return results  # type: ignore[return-value]

    def score_one(self, item: ScoreItem) -> ScoreResult:
        return self.score_many([item])[0]

    def _score_here(self, item: ScoreItem) -> ScoreResult:
        task, config_json, entry_json, answer = item
        try:
            entry = _decode_entry(entry_json)
        except Exception:
            return ScoreResult(0.0, "error")
        return score_answer(task, config_json, entry, answer, self.max_answer_chars)

    def _score_remote(self, idxs: list[int], items, results) -> None:
        with self.pool.checkout() as worker:
            out = worker.score([list(items[i]) for i in idxs], self.timeout_s, self.max_answer_chars)
        for i, r in zip(idxs, out):
            results[i] = r

    # -- asynchronous API (verifiers rubrics): requests made in the same event-loop tick
    #    travel to the workers as one batch, so a group of rollouts costs one round trip.
    #    In-process scoring runs in a thread, never on the event loop (each answer costs at
    #    most IN_PROCESS_BOUND_MS at its cap, measured by bench/bench_inprocess.py) --
    async def score(self, item: ScoreItem) -> ScoreResult:
        if item[3] is None:
            return ScoreResult(0.0, "parse_failure")
        if not self.sandboxed(item[0]):
            return await asyncio.to_thread(self._score_here, item)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        pending = self._pending.setdefault(loop, [])
        pending.append((item, fut))
        if len(pending) == 1:
            loop.call_soon(self._flush, loop)
        return await fut

    async def score_batch(self, items: Sequence[ScoreItem]) -> list[ScoreResult]:
        """Score a group: in-process items in one thread, sandboxed ones in one worker batch."""
        results, local, remote = self._split(items)
        jobs = [self.score(items[i]) for i in remote]
        if local:
            jobs.append(asyncio.to_thread(self._score_local, items, local, results))
        done = await asyncio.gather(*jobs)
        for i, r in zip(remote, done):
            results[i] = r
        return results  # type: ignore[return-value]

    def _flush(self, loop) -> None:
        batch = self._pending.pop(loop, [])
        if batch:
            loop.create_task(self._run_batch(batch))

    async def _run_batch(self, batch) -> None:
        try:
            results = await asyncio.to_thread(self.score_many, [item for item, _ in batch])
        except Exception:  # never let a scoring failure become a rollout exception
            results = [ScoreResult(0.0, "error")] * len(batch)
        for (_, fut), result in zip(batch, results):
            if not fut.done():
                fut.set_result(result)

    def warm_up(self) -> None:
        self.pool.warm_up(background=True)

    def close(self) -> None:
        self.pool.close()


@functools.lru_cache(maxsize=4096)
def _decode_entry(entry_json: str):
    return serialization.loads(entry_json)


_scorers: dict[tuple, Scorer] = {}


def get_scorer(mode: str | None = None, timeout_s: float | None = None) -> Scorer:
    """The process-wide scorer for these settings (envs share workers)."""
    key = (
        mode or os.environ.get("RGV_SCORING_MODE", "auto"),
        float(timeout_s or os.environ.get("RGV_SCORING_TIMEOUT_S", 10.0)),
        worker_count(),  # RGV_SCORING_WORKERS, else the node's default (sizing.py)
        int(os.environ.get("RGV_SCORING_MEMORY_MB", 4096)),
    )
    if key not in _scorers:
        _scorers[key] = Scorer(mode=key[0], timeout_s=key[1], workers=key[2], memory_mb=key[3])
    return _scorers[key]


@atexit.register
def _close_all() -> None:
    for scorer in _scorers.values():
        scorer.close()
