"""Completion -> the reward and metrics of one rollout, for every adapter (verifiers 0.1.x rubric,
verifiers 0.4 task, `rgv bench`): parse the last <answer>, score it with the task's own scorer
(sandboxed where needed), apply partial_credit.

- correct: the task's score in [0, 1]; with partial_credit=False every score below 1.0 becomes 0
- format: 1 when the final message ends with a closed <answer>...</answer>
- parse_failure: 1 when the final message has no <answer> tag (correct is then 0)
- score_failure: 1 when scoring failed and gave 0 (raised, worker died, timed out, refused)
- status: ok, parse_failure, error, crashed, timeout or rejected
"""

from __future__ import annotations

from typing import Any, Sequence

from .protocol import format_ok, parse_answer
from .scoring import Scorer

FAILURES = ("error", "crashed", "timeout", "rejected")
METRICS = ("format", "parse_failure", "score_failure")  # weight 0, beside `correct`


async def grade(scorer: Scorer, completions: Sequence[Any], infos: Sequence[dict], partial_credit: bool = True,
                answers: Sequence[str | None] | None = None) -> list[dict]:
    """One metrics dict per completion; the group's answers reach the scoring workers as one batch.
    `infos` are the rows' info dicts (rg_task, config, entry); `answers`, when given, are the parsed
    answers (callers that already parsed them)."""
    if answers is None:
        answers = [parse_answer(c, info.get("rg_task")) for c, info in zip(completions, infos)]
    results = await scorer.score_batch([(i["rg_task"], i["config"], i["entry"], a) for i, a in zip(infos, answers)])
    out = []
    for completion, info, answer, r in zip(completions, infos, answers, results):
        score = r.score if partial_credit or r.score >= 1.0 else 0.0
        out.append({"correct": score, "format": float(format_ok(completion, info.get("rg_task"))),
                    "parse_failure": float(answer is None), "score_failure": float(r.status in FAILURES),
                    "status": r.status})
    return out
