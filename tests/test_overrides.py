"""game_of_life_halting's upstream scorer gives 1.0 to any non-empty answer; ours does not."""

import dataclasses

from reasoning_gym.factory import create_dataset

from rg_verifiers import serialization
from rg_verifiers.scoring import get_scorer


def test_upstream_bug_and_fix():
    ds = create_dataset("game_of_life_halting", size=10, seed=3)
    entry = ds[0]
    wrong = "False" if entry["answer"] == "True" else "True"
    assert ds.score_answer("banana", entry) == 1.0  # the bug
    assert ds.score_answer(wrong, entry) == 1.0
    cfg = serialization.dumps({f.name: getattr(ds.config, f.name) for f in dataclasses.fields(ds.config)})
    item = lambda a: ("game_of_life_halting", cfg, serialization.dumps(entry), a)  # noqa: E731
    scorer = get_scorer()
    assert scorer.score_one(item("banana")).score == 0.0
    assert scorer.score_one(item(wrong)).score == 0.0
    assert scorer.score_one(item(entry["answer"])).score == 1.0
    assert scorer.score_one(item(entry["answer"].lower())).score == 1.0
