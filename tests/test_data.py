import json
import logging
import os
import subprocess
import sys

import pytest

from rg_verifiers.data import EVAL_SEED_OFFSET, TaskSpec, allocate, build_split
from rg_verifiers.env import load_rg_environment
from rg_verifiers.errors import RGVError


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RGV_CACHE_DIR", str(tmp_path / "cache"))


def questions(rows):
    return [r["question"] for r in rows]


def test_train_and_eval_are_disjoint_and_deduplicated():
    env = load_rg_environment("leg_counting", num_train_examples=300, num_eval_examples=100, config={"max_animals": 3})
    train, evals = env.dataset, env.eval_dataset
    assert env.rgv_report["overlap"] == 0
    assert not set(train["question"]) & set(evals["question"])
    assert len(set(train["question"])) == len(train) and len(set(evals["question"])) == len(evals)
    idx = {r["info"]["index"] for r in evals}
    assert max(idx) < EVAL_SEED_OFFSET  # item indices; seeds differ by the offset
    assert {json.loads(r["info"]["config"])["seed"] for r in evals} == {EVAL_SEED_OFFSET}


def test_eval_split_does_not_depend_on_train_size():
    a = load_rg_environment("chain_sum", num_train_examples=5, num_eval_examples=30)
    b = load_rg_environment("chain_sum", num_train_examples=50, num_eval_examples=30)
    assert a.eval_dataset["question"] == b.eval_dataset["question"]


def test_few_distinct_questions_warn_and_report(caplog):
    caplog.set_level(logging.WARNING, logger="rg_verifiers")
    rows, reports = build_split([TaskSpec("tower_of_hanoi", config={"min_disks": 3, "max_disks": 3, "min_pegs": 3, "max_pegs": 3})], "eval", 50, 0)
    assert reports[0].obtained == len(rows) < 50
    assert reports[0].duplicates_skipped > 0
    assert "only" in caplog.text and "tower_of_hanoi" in caplog.text


def test_mixture_allocates_by_weight_and_keeps_task_names():
    assert allocate(10, [2, 1, 1]) == [5, 3, 2] or sum(allocate(10, [2, 1, 1])) == 10
    assert allocate(7, [1, 1]) == [4, 3]
    env = load_rg_environment([{"name": "leg_counting", "weight": 3, "config": {"max_animals": 4}}, "basic_arithmetic"],
                              num_eval_examples=40, num_train_examples=8)
    tasks = [i["rg_task"] for i in env.eval_dataset["info"]]
    assert tasks.count("leg_counting") == 30 and tasks.count("basic_arithmetic") == 10


def test_mixture_rejects_top_level_config_and_duplicates():
    with pytest.raises(RGVError, match="per task"):
        load_rg_environment(["gcd", "lcm"], config={"x": 1})
    with pytest.raises(RGVError, match="once"):
        load_rg_environment(["gcd", "gcd"])


def test_unknown_argument_names_valid_ones():
    with pytest.raises(RGVError, match="did you mean 'num_eval_examples'"):
        load_rg_environment("gcd", num_eval_example=3)


ROWS_SCRIPT = """
import hashlib, json, sys
from rg_verifiers.data import TaskSpec, build_split
rows, _ = build_split([TaskSpec(sys.argv[1])], "eval", 6, 11, use_cache=False)
print(hashlib.sha256(json.dumps([(r["question"], r["answer"], r["info"]["entry"]) for r in rows]).encode()).hexdigest())
"""


@pytest.mark.parametrize("task", ["isomorphic_strings", "ransom_note", "polynomial_multiplication", "word_ladder", "list_functions"])
def test_same_rows_whatever_pythonhashseed(task):
    digests = set()
    for hashseed in ("1", "987654", "random"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        out = subprocess.run([sys.executable, "-c", ROWS_SCRIPT, task], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip().splitlines()[-1])
    assert len(digests) == 1


def test_task_that_bounds_its_size_still_builds():
    # word_ladder refuses size > 20000; 6000 eval rows would ask for 24000 items to leave room for duplicates
    from rg_verifiers.data import build_rows

    rows, report = build_rows(TaskSpec("word_ladder"), "eval", 0, 5001, set(), lambda *a: (lambda k: None))
    assert report.attempts <= 5001 and len(rows) == report.obtained > 4900
