"""Reward functions by name, with weights in the training config (`rewards: [{name, weight}]`).

A reward takes the completions (chat messages) and their `info` dicts and returns one float per
completion. `correctness` is the environments' own scorer (same parse and sandbox as vf-eval);
the others are shaping terms for models that do not yet follow the <answer> format.

Add your own:

    from rg_verifiers.rewards import register_reward

    @register_reward("my_reward")
    def my_reward(completions, infos):
        return [...]

and make it importable before training starts: `RGV_REWARD_MODULES=my_pkg.rewards`.
"""

from __future__ import annotations

import importlib
import os
from typing import Callable

from .errors import RGVError, did_you_mean
from .protocol import final_assistant_text, format_ok, parse_answer

RewardFn = Callable[[list, list[dict]], list[float]]
REWARDS: dict[str, RewardFn] = {}


def register_reward(name: str):
    def wrap(fn: RewardFn) -> RewardFn:
        REWARDS[name] = fn
        return fn
    return wrap


def get_reward(name: str) -> RewardFn:
    for module in filter(None, os.environ.get("RGV_REWARD_MODULES", "").split(",")):
        importlib.import_module(module.strip())
    if name not in REWARDS:
        raise RGVError(f"unknown reward {name!r}{did_you_mean(name, REWARDS)} (registered: {', '.join(sorted(REWARDS))})")
    return REWARDS[name]


def score_results(completions, infos):
    """ScoreResults of the task scorer, shared by `correctness` and the training metrics."""
    from .scoring import get_scorer

    items = [(i["rg_task"], i["config"], i["entry"], parse_answer(c, i["rg_task"])) for c, i in zip(completions, infos)]
    return get_scorer().score_many(items)


@register_reward("correctness")
def correctness(completions, infos) -> list[float]:
    """The task's own score_answer on the last <answer> of the final message, in [0, 1]."""
    return [r.score for r in score_results(completions, infos)]


@register_reward("format")
def format_reward(completions, infos) -> list[float]:
    """1 when the final message ends with a closed <answer>...</answer> (math datasets: or holds a \\boxed{})."""
    return [float(format_ok(c, i.get("rg_task"))) for c, i in zip(completions, infos)]


@register_reward("answer_tag")
def answer_tag(completions, infos) -> list[float]:
    """1 for a complete <answer>...</answer> anywhere in the final message (math datasets: or a \\boxed{}):
    the gentlest shaping."""
    return [float(parse_answer(c, i.get("rg_task")) is not None) for c, i in zip(completions, infos)]


@register_reward("think")
def think_format(completions, infos) -> list[float]:
    """1 when the final message is one <think>...</think> block followed by the answer: it starts with
    <think> (after whitespace), holds one <think> and one </think>, and text follows </think>
    (TRL's think_format_reward, which also accepts nothing after it)."""
    out = []
    for c in completions:
        text = final_assistant_text(c).lstrip()
        ok = (text.startswith("<think>") and text.count("<think>") == 1 and text.count("</think>") == 1
              and bool(text.split("</think>", 1)[1].strip()))
        out.append(float(ok))
    return out


@register_reward("brevity")
def brevity(completions, infos) -> list[float]:
    """1 for an empty completion, falling linearly to 0 at 2000 characters."""
    return [max(0.0, 1.0 - len(final_assistant_text(c)) / 2000) for c in completions]


@register_reward("reference_mention")
def reference_mention(completions, infos) -> list[float]:
    """1 when the reference answer appears as a whole token anywhere in the final message, tagged
    or not: a dense signal for models too small to use the tags yet (0 for verifier-only tasks)."""
    import re

    from . import serialization
    from .references import reference_answer

    out = []
    for completion, info in zip(completions, infos):
        gold = reference_answer(info["rg_task"], serialization.loads(info["entry"]))
        text = final_assistant_text(completion)
        hit = bool(gold) and re.search(rf"(?<![\w.]){re.escape(gold.strip())}(?![\w.])", text) is not None
        out.append(float(hit))
    return out
