"""Sample completions of a result, read back from where its run saved them (for reports).

- rgv bench: `rollouts/<model>__<task>.jsonl` beside the results file, questions from `items/<task>.jsonl`;
- vf-eval -s: the folder's `results.jsonl` (prompt and completion columns);
- reasoning-gym eval output: the task file's `results` (question, completions).
Nothing found (a table built in code, a paper series) gives no samples, never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from .protocol import final_assistant_text


@dataclass
class Sample:
    example_id: object
    question: Optional[str]
    completion: str
    answer: Optional[str]  # parsed from the completion
    expected: Optional[str]
    score: float


def samples_for(result, per_kind: int = 2, max_chars: int = 4000) -> dict[str, list[Sample]]:
    """Up to `per_kind` correct (score 1) and wrong (score < 1) samples, first items first."""
    out: dict[str, list[Sample]] = {"correct": [], "wrong": []}
    for s in _read(result):
        kind = "correct" if s.score >= 1.0 else "wrong"
        if len(out[kind]) < per_kind:
            if len(s.completion) > max_chars:
                s.completion = s.completion[:max_chars] + f"\n… ({len(s.completion) - max_chars} more characters)"
            out[kind].append(s)
        if all(len(v) >= per_kind for v in out.values()):
            break
    return out


def all_samples(result) -> Iterator[Sample]:
    """Every saved rollout of the result that got an answer, in file order."""
    return _read(result)


def _read(result) -> Iterator[Sample]:
    run = getattr(result, "run", None)
    if run is None or not run.source:
        return iter(())
    try:
        if run.kind == "bench":
            return _bench(result, Path(run.source).parent)
        if run.kind == "vf-eval":
            return _vf_eval(result, Path(run.source))
        if run.kind == "rg-eval":
            return _rg_eval(Path(run.source))
    except OSError:
        pass
    return iter(())


def _jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn last line of an interrupted run
            if isinstance(row, dict):
                yield row


def _bench(result, folder: Path) -> Iterator[Sample]:
    rel = result.extra.get("rollouts_file")
    if not rel or not (folder / rel).is_file():
        return
    items_file = folder / "items" / f"{result.task}.jsonl"
    items = {r.get("example_id"): r for r in _jsonl(items_file)} if items_file.is_file() else {}
    for row in _jsonl(folder / rel):
        if row.get("error"):
            continue
        item = items.get(row.get("example_id"), {})
        yield Sample(row.get("example_id"), item.get("question"), str(row.get("completion") or ""), row.get("answer"),
                     item.get("answer"), float(row.get("correct") or 0.0))


def _vf_eval(result, folder: Path) -> Iterator[Sample]:
    from .protocol import parse_answer

    for i, row in enumerate(_jsonl(folder / "results.jsonl")):
        info = row.get("info") if isinstance(row.get("info"), dict) else {}
        if info.get("rg_task", result.task) != result.task:
            continue
        prompt = row.get("prompt")
        question = None
        if isinstance(prompt, list):
            users = [m.get("content") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
            question = users[-1] if users else None
        completion = final_assistant_text(row.get("completion"))
        score = row.get("correct", row.get("reward"))
        yield Sample(row.get("example_id", i), question, completion, parse_answer(row.get("completion"), result.task),
                     row.get("answer"), float(score or 0.0))


def _rg_eval(path: Path) -> Iterator[Sample]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for i, item in enumerate(doc.get("results") or []):
        for c in item.get("completions") or [{"model_answer": item.get("best_model_answer"),
                                              "full_model_response": item.get("best_full_model_response"),
                                              "score": item.get("best_score")}]:
            yield Sample(i, item.get("question"), str(c.get("full_model_response") or ""), c.get("model_answer"),
                         item.get("expected_answer"), float(c.get("score") or 0.0))
