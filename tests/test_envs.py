"""environments/ is generated from the template and in sync with reasoning-gym's registry."""

import importlib
import tomllib

import pytest

from rg_verifiers.envgen import check, module_name
from rg_verifiers.tasks import env_id_for, task_names


@pytest.mark.slow
def test_environments_in_sync_with_registry(repo_root):
    assert check(repo_root / "environments") == []


@pytest.mark.parametrize("env_id", [env_id_for(t) for t in task_names()] + ["rg-composite"])
def test_every_environment_is_a_complete_package(repo_root, env_id):
    folder = repo_root / "environments" / module_name(env_id)
    meta = tomllib.loads((folder / "pyproject.toml").read_text())
    assert meta["project"]["name"] == env_id
    # one package for verifiers 0.1.6 ... 0.4.x (v0 load_environment, v1 Taskset)
    assert "verifiers>=0.1.6,<0.5" in meta["project"]["dependencies"]
    readme = (folder / "README.md").read_text()
    for heading in ("## Arguments", "## Metrics", "vf-eval " + env_id, "| `num_eval_examples` |", "| `correct` | 1 |",
                    f"vf-eval {env_id} -m <model> --client.base-url <openai-compatible base url> --no-push"):
        assert heading in readme, (env_id, heading)
    if env_id != "rg-composite":
        assert "## Sample item" in readme and "Reference answer:" in readme
    module = importlib.import_module(module_name(env_id))
    assert callable(module.load_environment)
