"""configs/prime-rl/*.toml: the prime-rl run configs for rg-* environments.

prime-rl is not on PyPI and needs Python 3.12, so its own schema (RLConfig) is checked by hand
(docs/verifiers-0.4.md says what was validated there). What the project venv can check: every
train/eval source names an existing rg-* environment and its split, and its taskset fields are
valid environment arguments for that task (the checks RGTasksetConfig runs under verifiers 0.4:
parse_env_args, then the task's config at the curriculum level)."""

import tomllib

import pytest

from rg_verifiers.envargs import parse_env_args
from rg_verifiers.envgen import module_name
from rg_verifiers.errors import RGVError
from rg_verifiers.tasks import build_config, task_for_env_id


def _configs(repo_root):
    return sorted((repo_root / "configs" / "prime-rl").glob("*.toml"))


def _sources(doc: dict) -> list[tuple[str, dict]]:
    orch = doc["orchestrator"]
    out = [("train", s) for s in orch["train"]["source"]]
    out += [("eval", s) for s in orch.get("eval", {}).get("source", [])]
    return out


def test_there_is_a_prime_rl_config(repo_root):
    assert [p.name for p in _configs(repo_root)] == ["rg-leg-counting.toml"]


def _check_source(repo_root, group: str, source: dict) -> None:
    env = source["env"]
    # the package's own harness and subprocess runtime are the defaults (rg_verifiers.taskset):
    # an explicit harness such as "null" would need uv and a download on the env server
    assert set(env) == {"taskset"}, f"{group} source sets {sorted(set(env) - {'taskset'})}; leave them to the package"
    taskset = dict(env["taskset"])
    env_id, split = taskset.pop("id"), taskset.pop("split")
    assert split == group, f"a {group} source must load split={group!r}, not {split!r}"
    assert (repo_root / "environments" / module_name(env_id) / "pyproject.toml").is_file(), env_id
    args = parse_env_args(taskset)
    if env_id != "rg-composite":
        # the task's config at that level, as the splits build it (size 1: cheap)
        build_config(task_for_env_id(env_id), args.config, args.difficulty, seed=args.seed, size=1)


def test_sources_name_rg_environments_with_valid_arguments(repo_root):
    for path in _configs(repo_root):
        doc = tomllib.loads(path.read_text())
        sources = _sources(doc)
        assert {group for group, _ in sources} == {"train", "eval"}, path.name
        for group, source in sources:
            _check_source(repo_root, group, source)


def test_the_check_catches_bad_sources(repo_root):
    good = {"env": {"taskset": {"id": "rg-leg-counting", "split": "train", "difficulty": 2}}}
    _check_source(repo_root, "train", good)
    bad = [
        ({"id": "rg-leg-counting", "split": "eval"}, "split='train'"),
        ({"id": "rg-leg-counting", "split": "train", "dificulty": 2}, "did you mean 'difficulty'"),
        ({"id": "rg-leg-countin", "split": "train"}, "rg-leg-countin"),
        ({"id": "rg-leg-counting", "split": "train", "difficulty": 99}, "leg_counting"),
    ]
    for taskset, message in bad:
        with pytest.raises((AssertionError, RGVError), match=message):
            _check_source(repo_root, "train", {"env": {"taskset": taskset}})
    with pytest.raises(AssertionError, match="agent"):
        _check_source(repo_root, "train", {"env": {**good["env"], "agent": {"harness": {"id": "null"}}}})
