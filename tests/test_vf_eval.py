"""verifiers' own `vf-eval` CLI against a fake OpenAI server: rewards, metrics, saved results."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from rg_verifiers import serialization
from rg_verifiers.env import load_rg_environment
from rg_verifiers.references import reference_answer

pytestmark = pytest.mark.slow
VF_EVAL = str(Path(sys.executable).parent / "vf-eval")
COMPOSITE_TASKS = ["leg_counting", "spiral_matrix", "countdown", "arc_agi", "graph_color", "game_of_life_halting",
                   "gsm_symbolic", "propositional_logic", "prime_factorization", "n_queens", "rubiks_cube", "rush_hour"]


def references(task_or_tasks, env_args) -> dict[str, str]:
    env = load_rg_environment(task_or_tasks, **env_args)
    refs = {}
    for row in env.eval_dataset:
        entry = serialization.loads(row["info"]["entry"])
        refs[row["question"]] = reference_answer(row["info"]["rg_task"], entry) or ""
    return refs


def vf_eval(tmp_path, env_id, model, base_url, env_args, n):
    out = subprocess.run([VF_EVAL, env_id, "-m", model, "-b", base_url, "-k", "OPENAI_API_KEY", "-n", str(n), "-r", "1",
                          "-c", "8", "-s", "-a", json.dumps(env_args)], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, OPENAI_API_KEY="test"), timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = sorted((tmp_path / "outputs" / "evals").glob(f"{env_id}--{model.replace('/', '--')}/*/results.jsonl"))
    assert runs, f"no results saved: {out.stdout[-2000:]}"
    rows = [json.loads(line) for line in runs[-1].read_text().splitlines()]
    assert json.loads((runs[-1].parent / "metadata.json").read_text())["env_id"] == env_id
    return rows


@pytest.fixture(scope="module")
def leg_server():
    args = {"num_eval_examples": 12, "num_train_examples": 0, "config": {"max_animals": 6}}
    with FakeOpenAI(references("leg_counting", args)) as server:
        yield server, args


def test_single_task_env_gold_wrong_untagged(tmp_path, leg_server):
    server, args = leg_server
    gold = vf_eval(tmp_path, "rg-leg-counting", "gold", server.base_url, args, 12)
    assert len(gold) == 12 and all(r["correct"] == 1.0 and r["reward"] == 1.0 and r["format"] == 1.0 for r in gold)
    assert all(r["info"]["rg_task"] == "leg_counting" for r in gold)
    wrong = vf_eval(tmp_path, "rg-leg-counting", "wrong", server.base_url, args, 12)
    assert all(r["correct"] < 1.0 and r["parse_failure"] == 0.0 for r in wrong)  # the LAST tag is scored
    untagged = vf_eval(tmp_path, "rg-leg-counting", "untagged", server.base_url, args, 12)
    assert all(r["correct"] == 0.0 and r["parse_failure"] == 1.0 and r["format"] == 0.0 for r in untagged)


@pytest.fixture(scope="module")
def composite_server():
    args = {"tasks": COMPOSITE_TASKS, "num_eval_examples": 36, "num_train_examples": 0}
    with FakeOpenAI(references(COMPOSITE_TASKS, {k: v for k, v in args.items() if k != "tasks"})) as server:
        yield server, args


def test_composite_env_scores_every_task_with_its_own_verifier(tmp_path, composite_server):
    server, args = composite_server
    gold = vf_eval(tmp_path, "rg-composite", "gold", server.base_url, args, 36)
    by_task = {}
    for r in gold:
        by_task.setdefault(r["info"]["rg_task"], []).append(r["correct"])
    assert set(by_task) == set(COMPOSITE_TASKS)
    for task, scores in by_task.items():
        if task in ("rush_hour",):  # no reference solution exists: cannot be gold-checked
            continue
        assert all(s == 1.0 for s in scores), (task, scores)
    wrong = vf_eval(tmp_path, "rg-composite", "wrong", server.base_url, args, 36)
    assert sum(r["correct"] for r in wrong) / len(wrong) < 0.2


def test_hostile_completions_through_vf_eval(tmp_path, composite_server):
    server, args = composite_server
    before = set(os.listdir(tmp_path))
    rows = vf_eval(tmp_path, "rg-composite", "hostile", server.base_url, args, 36)
    assert len(rows) == 36
    assert all(0.0 <= r["correct"] <= 1.0 and r["error"] in (None, "None") for r in rows)
    assert not list(tmp_path.rglob("PWN*")) and not list(Path.cwd().glob("PWN*"))
    assert set(os.listdir(tmp_path)) - before <= {"outputs"}


@pytest.mark.parametrize("env_id,env_args,expected", [
    ("rg-leg-counting", {"config": {"bogus": 1}}, "unknown config field 'bogus'"),
    ("rg-gsm8k", {"config": {"dataset": "no/such-dataset"}}, "hf download no/such-dataset --repo-type dataset"),
])
def test_bad_environment_arguments_are_one_line_under_vf_eval(tmp_path, env_id, env_args, expected):
    """verifiers re-raises load_environment's errors as RuntimeError from ours: still one line."""
    out = subprocess.run([VF_EVAL, env_id, "-m", "m", "-b", "http://127.0.0.1:9/v1", "-n", "1", "-a", json.dumps(env_args)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, OPENAI_API_KEY="test", HF_HUB_OFFLINE="1", RGV_DEBUG=""))
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0], out.stderr[-2000:]
