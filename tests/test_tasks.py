import pytest

from rg_verifiers.errors import RGVError
from rg_verifiers.tasks import build_config, env_id_for, task_for_env_id, task_info, task_names


def test_registry_has_every_task():
    names = task_names()
    assert len(names) == 105 and "composite" not in names
    assert task_info("leg_counting").category == "arithmetic"
    assert task_info("spiral_matrix").sandboxed and not task_info("leg_counting").sandboxed
    assert task_info("acre").difficulty_levels == 0 and task_info("leg_counting").difficulty_levels == 36


def test_env_ids_round_trip():
    for name in task_names():
        assert task_for_env_id(env_id_for(name)) == name


def test_unknown_task_lists_close_matches():
    with pytest.raises(RGVError, match="did you mean 'leg_counting'"):
        task_for_env_id("rg-leg-countin")


def test_unknown_config_field_names_valid_ones():
    with pytest.raises(RGVError, match=r"'max_animal'.*did you mean 'max_animals'.*valid fields: min_animals"):
        build_config("leg_counting", {"max_animal": 3}, None, 0, 10)


def test_invalid_config_value_is_one_clear_line():
    with pytest.raises(RGVError, match="invalid config for task 'leg_counting'") as exc:
        build_config("leg_counting", {"min_animals": 9, "max_animals": 2}, None, 0, 10)
    assert "\n" not in str(exc.value)


def test_difficulty_levels():
    cfg = build_config("leg_counting", None, 3, seed=7, size=10)
    assert cfg.seed == 7 and cfg.max_animals > 1
    # explicit config fields override the level's
    assert build_config("leg_counting", {"max_animals": 2}, 3, 0, 10).max_animals == 2
    with pytest.raises(RGVError, match=r"0\.\.35"):
        build_config("leg_counting", None, 36, 0, 10)
    with pytest.raises(RGVError, match="no curriculum"):
        build_config("acre", None, 0, 0, 10)


# caesar_cipher 2-3, knight_swap 0-4, modulo_grid 1, rubiks_cube 4 and survo 2-3 are clamped to a
# valid config instead (tasks.CLAMPED_LEVELS, tests/test_levels.py)
@pytest.mark.parametrize("task,level", [("jugs", 3)])
def test_broken_curriculum_levels_give_clear_errors(task, level):
    with pytest.raises(RGVError, match=f"{task}"):
        build_config(task, None, level, 0, 10)
