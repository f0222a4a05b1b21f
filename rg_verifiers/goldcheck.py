"""Gold round trip: reference answer -> <answer> tags -> our parser -> our scorer == 1.0."""

from __future__ import annotations

from dataclasses import dataclass

from . import serialization
from .data import TaskSpec, build_split
from .protocol import parse_answer
from .references import NO_REFERENCE, reference_answer
from .scoring import Scorer, get_scorer


@dataclass
class GoldResult:
    task: str
    checked: int
    passed: int
    skipped_reason: str | None = None
    difficulty: int | None = None
    failures: list = None  # (index, score, status) of the items that did not score 1.0
    unreferenced: int = 0  # items without a reference answer (skipped)

    @property
    def ok(self) -> bool:
        return self.skipped_reason is not None or self.passed == self.checked


def gold_completion(answer: str) -> list[dict]:
    return [{"role": "assistant", "content": f"Let me think.\n<answer>{answer}</answer>"}]


def check_task(task: str, n: int = 20, seed: int = 0, scorer: Scorer | None = None, split: str = "eval",
               difficulty: int | None = None, use_cache: bool = True) -> GoldResult:
    if task in NO_REFERENCE:
        return GoldResult(task, 0, 0, NO_REFERENCE[task], difficulty)
    scorer = scorer or get_scorer()
    rows, _ = build_split([TaskSpec(task, difficulty=difficulty)], split, n, seed, use_cache=use_cache)
    items, checked_rows, unreferenced = [], [], 0
    for row in rows:
        info = row["info"]
        gold = reference_answer(task, serialization.loads(info["entry"]))
        if gold is None:  # e.g. rubiks_cube larger than 3x3 (references.NO_REFERENCE_LEVELS)
            unreferenced += 1
            continue
        checked_rows.append(row)
        items.append((task, info["config"], info["entry"], parse_answer(gold_completion(gold))))
    results = scorer.score_many(items) if items else []
    failures = [(row["info"].get("index"), r.score, r.status) for row, r in zip(checked_rows, results) if r.score != 1.0]
    if not items and unreferenced:
        return GoldResult(task, 0, 0, f"no reference on these {unreferenced} items", difficulty, [])
    return GoldResult(task, len(results), len(results) - len(failures), None, difficulty, failures, unreferenced)
