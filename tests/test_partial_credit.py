"""partial_credit=False: every score below 1.0 becomes 0; True keeps reasoning-gym's scores."""

import asyncio

import pytest

from rg_verifiers import serialization
from rg_verifiers.data import TaskSpec, build_split
from rg_verifiers.env import load_rg_environment
from rg_verifiers.errors import RGVError
from rg_verifiers.rubric import RGRubric
from rg_verifiers.scoring import Scorer


def _completion(answer):
    return [{"role": "assistant", "content": f"thinking\n<answer>{answer}</answer>"}]


def _rewards(partial_credit, task, answers):
    rows, _ = build_split([TaskSpec(task)], "eval", 1, seed=0, use_cache=False)
    info = rows[0]["info"]
    gold = serialization.loads(info["entry"])["answer"]
    scorer = Scorer(mode="auto", workers=1)
    try:
        rubric = RGRubric(scorer, partial_credit=partial_credit)
        completions = [_completion(a.format(gold=gold)) for a in answers]
        metrics = asyncio.run(rubric._metrics(completions, [info] * len(answers), None))
        return [m["correct"] for m in metrics]
    finally:
        scorer.close()


ANSWERS = ["{gold}", "1{gold}", "The answer is {gold}", "wrong"]


def test_default_keeps_substring_credit():
    # gcd uses reasoning-gym's base scorer: len(gold)/len(answer) when the gold is a substring
    full, partial, sentence, wrong = _rewards(True, "gcd", ANSWERS)
    assert full == 1.0 and 0 < partial < 1 and 0 < sentence < 1 and wrong == 0.0


def test_strict_maps_everything_below_one_to_zero():
    assert _rewards(False, "gcd", ANSWERS) == [1.0, 0.0, 0.0, 0.0]


def test_strict_removes_the_floor():
    # complex_arithmetic gives wrong answers a floor/partial score; strict gives 0
    lenient = _rewards(True, "complex_arithmetic", ["{gold}", "0"])
    strict = _rewards(False, "complex_arithmetic", ["{gold}", "0"])
    assert lenient[0] == strict[0] == 1.0 and strict[1] == 0.0


def _rg_rubric(env):
    rubric = env.rubric
    found = [r for r in getattr(rubric, "rubrics", [rubric]) if isinstance(r, RGRubric)]
    assert len(found) == 1
    return found[0]


def test_env_argument_reaches_the_rubric():
    env = load_rg_environment("gcd", num_eval_examples=2, num_train_examples=0, cache=False, partial_credit=False)
    assert _rg_rubric(env).partial_credit is False
    env = load_rg_environment("gcd", num_eval_examples=2, num_train_examples=0, cache=False)
    assert _rg_rubric(env).partial_credit is True
    with pytest.raises(RGVError, match="partial_credit"):
        load_rg_environment("gcd", num_eval_examples=2, num_train_examples=0, cache=False, partial_credit="no")


def test_training_config_makes_the_correctness_reward_strict(tmp_path):
    """data.partial_credit=false reaches the env a training run builds and the TRL reward function."""
    from rg_verifiers.config import load_config
    from rg_verifiers.rubric import partial_credit_of
    from rg_verifiers.train.run import build_env
    from rg_verifiers.train.trl_backend import trl_reward_funcs

    rows, _ = build_split([TaskSpec("gcd")], "eval", 1, seed=0, use_cache=False)
    info = rows[0]["info"]
    gold = serialization.loads(info["entry"])["answer"]
    completions = [_completion(a.format(gold=gold)) for a in ANSWERS]
    for partial, expected in ((True, None), (False, [1.0, 0.0, 0.0, 0.0])):
        cfg = load_config(None, ["experiment=leg_counting_embedded_cpu", "tasks=[gcd]", "data.num_train_examples=2",
                                 "data.num_eval_examples=2", "rewards=[correctness]",
                                 f"data.partial_credit={str(partial).lower()}"])
        assert partial_credit_of(build_env(cfg).rubric) is partial
        (reward,) = trl_reward_funcs(cfg, partial_credit=partial)
        values = reward([None] * 4, completions, [info] * 4)
        if expected is None:
            assert values[0] == 1.0 and 0 < values[1] < 1  # the task's own substring credit
        else:
            assert values == expected
