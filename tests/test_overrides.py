"""Upstream scorer bugs and their fixes (scoring/overrides.py): game_of_life_halting gives 1.0 to any
non-empty answer; rubiks_cube drops layer moves, so no 4x4+ cube can be solved."""

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


def test_rubiks_cube_layer_moves_are_dropped_upstream_and_kept_by_the_fix():
    from rg_verifiers.references import reference_answer
    from rg_verifiers.scoring.overrides import _expand_cube_moves

    ds = create_dataset("rubiks_cube", size=6, seed=3, cube_size=4, min_scramble_steps=3, max_scramble_steps=6)
    cfg = serialization.dumps({f.name: getattr(ds.config, f.name) for f in dataclasses.fields(ds.config)})
    scorer = get_scorer()
    for entry in ds:
        assert entry["metadata"]["example_correct_answer"] == ""  # no stored solution for 4x4
        undo = reference_answer("rubiks_cube", entry)  # the scramble undone
        assert any(m[0].isdigit() for m in undo.split())
        assert ds.score_answer(undo, entry) < 1.0  # the bug: layer moves vanish, the cube stays scrambled
        item = ("rubiks_cube", cfg, serialization.dumps(entry), undo)
        assert scorer.score_one(item).score == 1.0
        assert scorer.score_one(item[:3] + ("U",)).score < 1.0  # a wrong answer still is not solved
    # the upstream expansion is kept otherwise: a trailing count repeats a move
    assert _expand_cube_moves("R2 2B 1Rw' U'2 22") == "R R 2B 1Rw' U' U'"
    assert ds.expand_moves("R2 U'2") == "R R U' U'"
