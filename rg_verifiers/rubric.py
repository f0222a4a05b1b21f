"""The rubric every rg environment uses: reward = task score, plus counted metrics.

Reward functions (weight):
- correct (1.0): the task's own score_answer in [0, 1] (sandboxed where needed)
- format (0): 1 when the final message ends with a closed <answer>...</answer>
- parse_failure (0): 1 when the final message has no <answer> tag (correct is then 0)
- score_error / score_timeout / answer_rejected (0): 1 when scoring raised or the worker
  died, ran past its time limit, or the answer was refused before scoring (too long, or
  not plain arithmetic for the sympy scorers)
"""

from __future__ import annotations

from collections import OrderedDict

import verifiers as vf

from .protocol import format_ok, parse_answer
from .scoring import ScoreResult, Scorer

_STATE_KEY = "rgv_score"


class RGRubric(vf.Rubric):
    def __init__(self, scorer: Scorer, parser: vf.Parser | None = None):
        super().__init__(parser=parser or vf.XMLParser(fields=["answer"]))
        self.scorer = scorer
        self._recent: OrderedDict = OrderedDict()  # for verifiers versions that pass no `state`

        async def correct(completion, info, state=None, **kwargs) -> float:
            return (await self._result(completion, info, state)).score

        async def score_error(completion, info, state=None, **kwargs) -> float:
            return float((await self._result(completion, info, state)).status in ("error", "crashed"))

        async def score_timeout(completion, info, state=None, **kwargs) -> float:
            return float((await self._result(completion, info, state)).status == "timeout")

        async def answer_rejected(completion, info, state=None, **kwargs) -> float:
            return float((await self._result(completion, info, state)).status == "rejected")

        def format(completion, **kwargs) -> float:  # noqa: A001 - metric name users see
            return float(format_ok(completion))

        def parse_failure(completion, **kwargs) -> float:
            return float(parse_answer(completion) is None)

        self.add_reward_func(correct, weight=1.0)
        for metric in (format, parse_failure, score_error, score_timeout, answer_rejected):
            self.add_reward_func(metric, weight=0.0)

    async def _result(self, completion, info, state) -> ScoreResult:
        if isinstance(state, dict) and _STATE_KEY in state:
            return state[_STATE_KEY]
        answer = parse_answer(completion)
        key = (id(completion), answer, info.get("rg_task"), info.get("split"), info.get("index"))
        result = self._recent.get(key)
        if result is None:
            result = await self.scorer.score((info["rg_task"], info["config"], info["entry"], answer))
            self._recent[key] = result
            if len(self._recent) > 4096:
                self._recent.popitem(last=False)
        if isinstance(state, dict):
            state[_STATE_KEY] = result
        return result
