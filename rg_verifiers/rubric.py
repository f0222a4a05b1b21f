"""The rubric every rg environment uses: reward = task score, plus counted metrics.

Reward functions (weight):
- correct (1.0): the task's own score_answer in [0, 1] (sandboxed where needed); with
  partial_credit=False every score below 1.0 becomes 0
- format (0): 1 when the final message ends with a closed <answer>...</answer>
- parse_failure (0): 1 when the final message has no <answer> tag (correct is then 0)
- score_failure (0): 1 when scoring failed and gave 0: the scorer raised, its worker died or
  ran past the time limit, or the answer was refused before scoring (too long; not plain
  arithmetic for the sympy scorers). Which one is in state["rgv_status"]
  (`vf-eval ... -C rgv_status` saves it): ok, parse_failure, error, crashed, timeout, rejected.

`correct` is the only registered function, a group-level one (called once per group of
rollouts, with lists); the metrics are added to state["metrics"] after verifiers' own
score_group, from the same pass. verifiers' per-call overhead (signature inspection, building
six argument lists from the states) dominated scoring cost when each metric was a function of
its own. A group's answers reach the scoring workers as one batch.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict

import verifiers as vf

from .grading import FAILURES, METRICS, grade  # noqa: F401  (FAILURES re-exported)
from .protocol import parse_answer
from .scoring import Scorer

_STATE_KEY = "rgv_metrics"
# verifiers 0.1.6 scores one rollout from its parts and wants a RolloutScore back; 0.1.7+ pass the state
_LEGACY_SCORING = "prompt" in inspect.signature(vf.Rubric.score_rollout).parameters


def _fixed_signature(func):
    # verifiers inspects the signature on every call; a precomputed one is returned at once
    func.__signature__ = inspect.signature(func)
    return func


class RGRubric(vf.Rubric):
    def __init__(self, scorer: Scorer, parser: vf.Parser | None = None, partial_credit: bool = True):
        super().__init__(parser=parser or vf.XMLParser(fields=["answer"]))
        self.scorer = scorer
        # False: a strict reward, every score below 1.0 (substring credit, 0.01 floors) becomes 0
        self.partial_credit = partial_credit
        self._recent: OrderedDict = OrderedDict()  # for verifiers versions that pass no `states`

        async def correct(completions, infos, states=None, **kwargs) -> list[float]:
            return [m["correct"] for m in await self._metrics(completions, infos, states)]

        self.add_reward_func(_fixed_signature(correct), weight=1.0)

    async def score_group(self, states, *args, **kwargs):
        # verifiers' own scoring (reward, advantages, timing), then our metrics from the same pass
        await super().score_group(states, *args, **kwargs)
        all_metrics = await self._metrics([s["completion"] for s in states], [s["info"] for s in states], states)
        for state, metrics in zip(states, all_metrics):
            state["metrics"] = {**(state.get("metrics") or {}), **{k: metrics[k] for k in METRICS}}

    async def score_rollout(self, *args, **kwargs):
        """Independent scoring (vf-eval -R/-i): verifiers refuses group functions there."""
        if _LEGACY_SCORING:
            return await self._legacy_score_rollout(*args, **kwargs)
        state, args = (args[0], args[1:]) if args else (kwargs.pop("state"), ())
        await self.score_group([state], *args, **kwargs)

    async def _legacy_score_rollout(self, *args, **kwargs):
        from verifiers.types import RolloutScore

        call = inspect.signature(vf.Rubric.score_rollout).bind(self, *args, **kwargs).arguments
        completions, infos, states = [call["completion"]], [call.get("info") or {}], [call["state"]]
        metrics = (await self._metrics(completions, infos, states))[0]
        values = {f.__name__: float((await f(completions=completions, infos=infos, states=states))[0])
                  for f in self.reward_funcs}
        reward = sum(values[f.__name__] * w for f, w in zip(self.reward_funcs, self.reward_weights))
        return RolloutScore(metrics={**values, "correct": metrics["correct"], **{k: metrics[k] for k in METRICS}},
                            reward=reward)

    async def _metrics(self, completions, infos, states) -> list[dict]:
        if not isinstance(states, list) or len(states) != len(completions):
            states = [None] * len(completions)
        out: list[dict | None] = []
        todo: list[tuple[int, str | None, tuple]] = []
        for i, (completion, info, state) in enumerate(zip(completions, infos, states)):
            cached = state.get(_STATE_KEY) if isinstance(state, dict) else None
            if cached is None:
                answer = parse_answer(completion, info.get("rg_task"))
                key = (id(completion), answer, info.get("rg_task"), info.get("split"), info.get("index"))
                cached = self._recent.get(key)
                if cached is None:
                    todo.append((i, answer, key))
            out.append(cached)
        if todo:
            graded = await grade(self.scorer, [completions[i] for i, _, _ in todo], [infos[i] for i, _, _ in todo],
                                 self.partial_credit, answers=[answer for _, answer, _ in todo])
            for (i, answer, key), metrics in zip(todo, graded):
                out[i] = metrics
                self._recent[key] = out[i]
            while len(self._recent) > 4096:
                self._recent.popitem(last=False)
        for metrics, state in zip(out, states):
            if isinstance(state, dict) and _STATE_KEY not in state:
                state[_STATE_KEY] = metrics
                state["rgv_status"] = metrics["status"]
        return out  # type: ignore[return-value]


class TrainingRubric(RGRubric):
    """The reward of a training run: the configured `rewards:` list, by name and weight.

    `correctness` is the environment's own score (the same cached scoring pass as the metrics);
    other names come from the reward registry (rg_verifiers.rewards). Every reward is also a metric
    (verifiers logs them as reward/<name>), and `correct` (the task score) is always recorded,
    whatever the rewards, for per-task reporting.
    """

    def __init__(self, scorer: Scorer, rewards: list[tuple[str, float]], parser: vf.Parser | None = None,
                 partial_credit: bool = True):
        super().__init__(scorer, parser, partial_credit=partial_credit)
        self.funcs, self.weights = [], []
        for name, weight in rewards:
            self.add_reward_func(self._reward_func(name), weight=weight)

    def _reward_func(self, name: str):
        if name == "correctness":
            async def reward(completions, infos, states=None, **kwargs) -> list[float]:
                return [m["correct"] for m in await self._metrics(completions, infos, states)]
        else:
            from .rewards import get_reward

            fn = get_reward(name)

            async def reward(completions, infos, **kwargs) -> list[float]:
                return [float(v) for v in fn(completions, infos)]
        reward.__name__ = name
        return _fixed_signature(reward)

    async def score_group(self, states, *args, **kwargs):
        await super().score_group(states, *args, **kwargs)
        for state in states:
            state["metrics"]["correct"] = state[_STATE_KEY]["correct"]


def partial_credit_of(rubric) -> bool:
    """The partial_credit setting of an environment's rubric (verifiers may wrap it in a RubricGroup)."""
    for r in getattr(rubric, "rubrics", None) or [rubric]:
        if isinstance(r, RGRubric):
            return r.partial_credit
    return True
