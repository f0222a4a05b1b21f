"""The rubric agrees with reasoning-gym's own convention, score_answer(extract_answer(text)), on
many completion kinds, for every task at its default config and at its top usable level.

Deliberate differences (DELIBERATE), each with its reason; everything else must agree exactly:
- untagged completions: no <answer> tag is a parse failure scored 0 (plus parse_failure=1),
  where some reasoning-gym scorers give score_answer(None) a floor (0.01);
- game_of_life_halting: upstream gives 1.0 to any non-empty answer (scoring/overrides.py);
- rubiks_cube: upstream's move parser drops layer moves (`2B`, `1Rw'`), so answers with them
  (every solution of a 4x4+ cube) score differently (scoring/overrides.py);
- a scorer that raises (prime_factorization on junk, ...) is 0 with score_failure=1; reasoning-gym
  would raise, which the comparison counts as 0 (the same reward), so it is not a difference.
"""

import asyncio
import re

import pytest
from reasoning_gym.utils import extract_answer

from rg_verifiers import serialization
from rg_verifiers.data import TaskSpec, build_split
from rg_verifiers.protocol import final_assistant_text
from rg_verifiers.references import reference_answer
from rg_verifiers.rubric import RGRubric
from rg_verifiers.scoring import Scorer
from rg_verifiers.scoring.core import dataset_for
from rg_verifiers.tasks import task_info, task_names, usable_levels

pytestmark = pytest.mark.slow
ITEMS = 2

DELIBERATE = {
    "untagged": "no <answer> tag scores 0 (parse failure), not the scorer's floor for None",
    "game_of_life_halting": "upstream scorer rewards any non-empty answer (overrides.py)",
    "rubiks_cube": "upstream drops layer moves such as 2B, so no 4x4+ solution could score (overrides.py)",
}


def _perturb(gold: str) -> str:
    for i in range(len(gold) - 1, -1, -1):
        ch = gold[i]
        if ch.isdigit():
            return gold[:i] + str((int(ch) + 1) % 10) + gold[i + 1:]
        if ch.isalpha():
            return gold[:i] + ("b" if ch.lower() == "a" else "a") + gold[i + 1:]
    return gold + "1"


def completions(gold: str, other: str) -> dict[str, str]:
    reasoning = "Let me work through this step by step. " * 150
    return {
        "gold": f"Let me think.\n<answer>{gold}</answer>",
        "draft_then_gold": f"First guess <answer>{other}</answer>, no, wait.\n<answer>{gold}</answer>",
        "gold_then_draft": f"<answer>{gold}</answer> hmm, actually <answer>{other}</answer>",
        "whitespace": f"<answer>\n  {gold}  \n</answer>",
        "trailing_text": f"<answer>{gold}</answer>\nThat is my final answer.",
        "other_gold": f"<answer>{other}</answer>",
        "perturbed": f"<answer>{_perturb(gold)}</answer>",
        "gold_in_sentence": f"<answer>The answer is {gold}</answer>",
        "empty": "<answer></answer>",
        "untagged": f"The answer is {gold}",
        "long_reasoning": f"{reasoning}\n<answer>{gold}</answer>",
    }


def _configs():
    out = []
    for task in task_names():
        out.append((task, None))
        if task_info(task).difficulty_levels:
            levels = usable_levels(task)
            if levels:
                out.append((task, levels[-1]))
    return out


def _rg_score(task, info, text):
    entry = serialization.loads(info["entry"])
    try:
        return float(dataset_for(task, info["config"]).score_answer(extract_answer(text), entry))
    except Exception:
        return 0.0  # reasoning-gym raised: the same reward as our score_failure 0


@pytest.fixture(scope="module")
def scorer():
    s = Scorer(mode="auto", workers=2, timeout_s=30)
    yield s
    s.close()


@pytest.mark.parametrize("task,level", _configs())
def test_rubric_agrees_with_reasoning_gym(task, level, scorer):
    # the same rows as tests/test_gold_levels.py (seed 1, 2 items): generated once, then cached
    rows, _ = build_split([TaskSpec(task, difficulty=level)], "eval", ITEMS, seed=1)
    golds = [reference_answer(task, serialization.loads(r["info"]["entry"])) for r in rows]
    rubric = RGRubric(scorer)
    cases = []
    for k, row in enumerate(rows[:ITEMS]):
        gold = golds[k]
        if gold is None:  # boxnet, rush_hour: no reference to vary
            gold = "no reference"
        other = next((g for g in golds[k + 1:] + golds[:k] if g is not None and g != gold), _perturb(gold))
        for kind, text in completions(gold, other).items():
            cases.append((kind, row["info"], [{"role": "assistant", "content": text}]))
    metrics = asyncio.run(rubric._metrics([c[2] for c in cases], [c[1] for c in cases], None))
    differ = []
    for (kind, info, completion), m in zip(cases, metrics):
        rg = _rg_score(task, info, final_assistant_text(completion))
        if abs(m["correct"] - rg) > 1e-9:
            if kind == "untagged" and m["status"] == "parse_failure" and rg <= 0.01:
                continue  # DELIBERATE["untagged"]
            if task == "game_of_life_halting" and rg == 1.0 and m["correct"] == 0.0:
                continue  # DELIBERATE["game_of_life_halting"]
            if task == "rubiks_cube" and re.search(r"(^|\s)\d", extract_answer(final_assistant_text(completion)) or ""):
                continue  # DELIBERATE["rubiks_cube"]
            differ.append((kind, m["correct"], rg, m["status"]))
    assert not differ, differ[:6]
    assert any(m["correct"] == 1.0 for m in metrics) or all(g is None for g in golds[:ITEMS])
