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

    @property
    def ok(self) -> bool:
        return self.skipped_reason is not None or self.passed == self.checked


def gold_completion(answer: str) -> list[dict]:
    return [{"role": "assistant", "content": f"Let me think.\n<answer>{answer}</answer>"}]


def check_task(task: str, n: int = 20, seed: int = 0, scorer: Scorer | None = None, split: str = "eval") -> GoldResult:
    if task in NO_REFERENCE:
        return GoldResult(task, 0, 0, NO_REFERENCE[task])
    scorer = scorer or get_scorer()
    rows, _ = build_split([TaskSpec(task)], split, n, seed)
    items = []
    for row in rows:
        info = row["info"]
        gold = reference_answer(task, serialization.loads(info["entry"]))
        items.append((task, info["config"], info["entry"], parse_answer(gold_completion(gold))))
    results = scorer.score_many(items)
    return GoldResult(task, len(results), sum(r.score == 1.0 for r in results))
