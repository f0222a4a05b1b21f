"""Curriculum levels that reasoning-gym produces but its config rejects are clamped, documented."""

import pytest

from rg_verifiers.errors import RGVError
from rg_verifiers.tasks import BROKEN_LEVELS, CLAMPED_LEVELS, build_config, level_notes, usable_levels


@pytest.mark.parametrize("task,levels,field,value", [
    ("caesar_cipher", (2, 3), "max_rotation", 25), ("knight_swap", (0, 1, 2, 3, 4), "min_nodes", 6),
    ("modulo_grid", (1,), "max_target", 1), ("rubiks_cube", (4,), "cube_size", 6), ("survo", (2, 3), "max_empty", 9),
])
def test_rejected_levels_are_clamped_to_a_valid_config(task, levels, field, value):
    assert CLAMPED_LEVELS[task][0] == levels
    for level in levels:
        cfg = build_config(task, None, level, seed=0, size=1)  # validate() passes
        assert getattr(cfg, field) == value
        assert level_notes(task)[level].startswith("clamped: ")
    assert set(levels) <= set(usable_levels(task))


def test_clamping_leaves_other_levels_alone():
    assert [build_config("caesar_cipher", None, lv, seed=0, size=1).max_rotation for lv in range(4)] == [15, 25, 25, 25]
    assert build_config("caesar_cipher", None, 3, seed=0, size=1).max_words == 50  # the rest of the level is kept
    assert 0 not in level_notes("caesar_cipher")
    # explicit config fields still override the level (and are validated as given)
    with pytest.raises(RGVError, match="rotation"):
        build_config("caesar_cipher", {"max_rotation": 50}, 3, seed=0, size=1)


def test_broken_levels_keep_their_one_line_error():
    assert 3 in BROKEN_LEVELS["jugs"] and 3 not in usable_levels("jugs")
    assert level_notes("jugs")[3].startswith("broken: ")
    with pytest.raises(RGVError, match="broken"):
        build_config("jugs", None, 3, seed=0, size=1)
