"""Scoring one answer against one entry, identical in the worker and in-process."""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import Any

from .. import serialization
from ..tasks import config_class, dataset_class
from ..references import reference_answer
from .guards import SYMPY_SCORERS, check_sympy_answer
from .overrides import OVERRIDES

DEFAULT_MAX_ANSWER_CHARS = 20_000
# The cap grows with the item's own gold: an answer may be this many times the reference's length
# (game_of_life at difficulty 3 has 20,201-character golds).
ANSWER_CAP_PER_REFERENCE = 3

# statuses other than "ok" score 0.0 and are counted as metrics; "rejected" sympy answers get the
# task's own score for an unparseable answer (at most 0.01), as reasoning-gym would give them
UNPARSEABLE = "("
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
    reference = _reference(task, entry)
    if len(answer) > answer_cap(reference, max_answer_chars):
        return ScoreResult(0.0, "rejected")
    fn = OVERRIDES.get(task) or dataset_for(task, config_json).score_answer
    if task in SYMPY_SCORERS and check_sympy_answer(answer, reference) is not None:
        # a refused answer gets what the task gives any answer sympy cannot parse (countdown and
        # puzzle24: a 0.01 floor, the others 0): "(" fails in sympy's tokenizer, before any eval
        try:
            floor = float(fn(UNPARSEABLE, entry))
        except Exception:
            floor = 0.0
        return ScoreResult(min(0.01, max(0.0, floor)) if math.isfinite(floor) else 0.0, "rejected")
    try:
        score = float(fn(answer, entry))
    except (Exception, RecursionError, MemoryError):
        return ScoreResult(0.0, "error")
    if not math.isfinite(score):
        return ScoreResult(0.0, "error")
    return ScoreResult(min(1.0, max(0.0, score)), "ok")


def answer_cap(reference: str | None, max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS) -> int:
    """The longest answer scored for an item: the global cap, or more when its gold is long."""
    return max(max_answer_chars, ANSWER_CAP_PER_REFERENCE * len(reference or ""))


def _reference(task: str, entry: dict[str, Any]) -> str | None:
    try:
        return reference_answer(task, entry)
    except Exception:
        return None


def generate_entry(ds, index: int) -> dict[str, Any]:
    # list_functions draws from the global `random`; seeding it per item makes generation
    # reproducible without leaving the caller's global state changed.
    state = random.getstate()
    random.seed(f"rgv:{ds.seed}:{index}")
    try:
        return ds[index]
    finally:
        random.setstate(state)
