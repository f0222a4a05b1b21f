"""Scoring one answer against one entry, identical in the worker and in-process."""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import Any

from .. import serialization
from ..tasks import config_class, dataset_class
from .guards import SYMPY_SCORERS, check_sympy_answer
from .overrides import OVERRIDES

DEFAULT_MAX_ANSWER_CHARS = 20_000

# statuses other than "ok" all score 0.0 and are counted as metrics
STATUSES = ("ok", "parse_failure", "rejected", "error", "timeout", "crashed")


@dataclass(frozen=True)
class ScoreResult:
    score: float
    status: str = "ok"


@functools.lru_cache(maxsize=256)
def dataset_for(task: str, config_json: str):
    """The generating instance (scorers read its config and state, e.g. word_ladder's word list)."""
    return dataset_class(task)(config_class(task)(**serialization.loads(config_json)))


def score_answer(task: str, config_json: str, entry: dict[str, Any], answer: str | None,
                 max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS) -> ScoreResult:
    if answer is None:
        return ScoreResult(0.0, "parse_failure")
    if len(answer) > max_answer_chars:
        return ScoreResult(0.0, "rejected")
    if task in SYMPY_SCORERS and check_sympy_answer(answer) is not None:
        return ScoreResult(0.0, "rejected")
    fn = OVERRIDES.get(task) or dataset_for(task, config_json).score_answer
    try:
        score = float(fn(answer, entry))
    except (Exception, RecursionError, MemoryError):
        return ScoreResult(0.0, "error")
    if not math.isfinite(score):
        return ScoreResult(0.0, "error")
    return ScoreResult(min(1.0, max(0.0, score)), "ok")


def generate_entry(ds, index: int) -> dict[str, Any]:
    # list_functions draws from the global `random`; seeding it per item makes generation
    # reproducible without leaving the caller's global state changed.
    state = random.getstate()
    random.seed(f"rgv:{ds.seed}:{index}")
    try:
        return ds[index]
    finally:
        random.setstate(state)
