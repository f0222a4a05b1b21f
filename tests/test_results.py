import json
import math
import os

import pytest

from rg_verifiers.results import (
    SCHEMA,
    ModelTaskResult,
    ResultsError,
    ResultsTable,
    diff_interval,
    env_id_to_task,
    load_results,
    pass_at_k,
    summarize_rollouts,
    wilson_interval,
    write_all_results,
    write_task_results,
)


def rollouts(correct, per_example=1, **extra):
    return [
        {
            "example_id": i // per_example,
            "reward": c,
            "correct": c,
            "parse_failure": 0,
            "completion_tokens": 10 * (i + 1),
            "latency_s": 0.5,
            **extra,
        }
        for i, c in enumerate(correct)
    ]


# --- statistics -----------------------------------------------------------------------------


def test_wilson_known_values():
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4)
    assert hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.7225, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_wilson_fractional_successes_matches_mean_score():
    # partial credit: 4 rollouts scoring 0.5 each behave like 2 of 4
    assert wilson_interval(2.0, 4) == wilson_interval(0.5 * 4, 4)
    lo, hi = wilson_interval(2.5, 10)
    assert lo < 0.25 < hi


def test_pass_at_k():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    # 1 - C(n-c,k)/C(n,k)
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - math.comb(7, 2) / math.comb(10, 2))
    assert pass_at_k(5, 1, 5) == 1.0  # n - c < k
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_diff_interval_contains_delta_and_is_symmetric_at_half():
    ci = wilson_interval(50, 100)
    lo, hi = diff_interval(0.5, ci, 0.5, ci)
    assert lo < 0 < hi and lo == pytest.approx(-hi)
    lo, hi = diff_interval(0.2, wilson_interval(20, 100), 0.8, wilson_interval(80, 100))
    assert 0 < lo < 0.6 < hi < 1


# --- summarize ------------------------------------------------------------------------------


def test_summarize_rollouts_single():
    r = summarize_rollouts("m", "t", rollouts([1, 0, 1, 1] + [0] * 6), rollouts_per_example=1)
    assert r.n_examples == 10 and r.n_rollouts == 10
    assert r.accuracy == pytest.approx(0.3)
    assert r.accuracy_ci95 == pytest.approx(wilson_interval(3, 10))
    assert r.mean_reward == pytest.approx(0.3)
    assert r.pass_at_k == {}  # only with several rollouts per example
    assert r.mean_completion_tokens == pytest.approx(55.0)
    assert r.mean_latency_s == pytest.approx(0.5)


def test_summarize_rollouts_pass_at_k_and_partial_credit():
    # example 0: 1 of 4 fully correct; example 1: partial credit only (never >= 1.0)
    data = rollouts([1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5], per_example=4)
    data[0]["parse_failure"] = 1
    data[1]["completion_tokens"] = None
    r = summarize_rollouts("m", "t", data, rollouts_per_example=4)
    assert r.n_examples == 2 and r.n_rollouts == 8
    assert r.accuracy == pytest.approx(3 / 8)
    assert set(r.pass_at_k) == {1, 2, 4}
    assert r.pass_at_k[1] == pytest.approx((0.25 + 0) / 2)
    assert r.pass_at_k[4] == pytest.approx(0.5)
    assert r.parse_failure_rate == pytest.approx(1 / 8)
    assert r.mean_completion_tokens == pytest.approx((10 + 30 + 40 + 50 + 60 + 70 + 80) / 7)


def test_summarize_rollouts_empty_is_an_error():
    with pytest.raises(ResultsError, match="no rollouts"):
        summarize_rollouts("m", "t", [], 1)


def test_env_id_to_task():
    assert env_id_to_task("rg-leg-counting") == "leg_counting"
    assert env_id_to_task("basic-arithmetic") == "basic_arithmetic"


# --- write / load ---------------------------------------------------------------------------


def make_table():
    t = ResultsTable()
    t.add(summarize_rollouts("Qwen/Qwen2.5-7B-Instruct", "leg_counting", rollouts([1, 1, 0, 1] * 2, 2), 2))
    t.add(summarize_rollouts("Qwen/Qwen2.5-7B-Instruct", "basic_arithmetic", rollouts([0, 1, 0, 0] * 2, 2), 2))
    t.add(summarize_rollouts("ckpt/checkpoint-10", "leg_counting", rollouts([1, 1, 1, 1] * 2, 2), 2))
    return t


def test_round_trip_task_file(tmp_path):
    t = make_table()
    path = write_task_results(
        "leg_counting", t.results["leg_counting"], tmp_path, config={"n": 4}, timestamp="20250101_120000"
    )
    assert path.name == "results_leg_counting_20250101_120000.json"
    doc = json.loads(path.read_text())
    assert doc["schema"] == SCHEMA and doc["kind"] == "task" and doc["timestamp"] == "20250101_120000"
    assert doc["config"] == {"n": 4}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # atomic: no leftovers
    loaded = load_results(path)
    assert loaded.is_single_task and loaded.tasks == ["leg_counting"]
    for m, r in t.results["leg_counting"].items():
        assert loaded.get("leg_counting", m) == r  # pass_at_k keys back to int, ci back to tuple


def test_round_trip_all_tasks_file(tmp_path):
    t = make_table()
    path = write_all_results(t.results, tmp_path, config={"rollouts": 2}, timestamp="20250101_120000")
    assert path.name == "results_all_tasks_20250101_120000.json"
    doc = json.loads(path.read_text())
    assert doc["kind"] == "all_tasks"
    assert doc["tasks"] == ["leg_counting", "basic_arithmetic"]
    assert doc["models"] == ["Qwen/Qwen2.5-7B-Instruct", "ckpt/checkpoint-10"]
    avg = doc["average"]["Qwen/Qwen2.5-7B-Instruct"]
    assert avg["accuracy"] == pytest.approx((0.75 + 0.25) / 2)
    lo, hi = avg["accuracy_ci95"]
    assert lo < avg["accuracy"] < hi
    assert doc["average"]["ckpt/checkpoint-10"]["n_tasks"] == 1
    loaded = load_results([path])
    assert not loaded.is_single_task
    assert loaded.results == t.results


def test_from_dict_keeps_unknown_fields(tmp_path):
    d = make_table().get("leg_counting", "ckpt/checkpoint-10").to_dict()
    d["new_metric"] = 3
    r = ModelTaskResult.from_dict(d)
    assert r.extra["new_metric"] == 3


def write_vf_eval_dir(folder, model="Qwen/Qwen2.5-0.5B-Instruct", env_id="rg-mixed", rows=None, rpe=2):
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(
        json.dumps({"env_id": env_id, "model": model, "num_examples": 2, "rollouts_per_example": rpe})
    )
    with open(folder / "results.jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return folder


def test_load_vf_eval_folder_groups_by_info_task(tmp_path):
    rows = []
    for ex, task, correct in [(0, "leg_counting", [1, 1]), (1, "leg_counting", [1, 0]), (2, "word_sorting", [0, 0]),
                              (3, "word_sorting", [1, 0])]:
        for c in correct:
            rows.append({"example_id": ex, "prompt": [], "completion": [], "task": "default", "reward": float(c),
                         "correct": float(c), "parse_failure": 0.0, "generation_ms": 1500.0,
                         "info": {"rg_task": task, "idx": ex}})
    folder = write_vf_eval_dir(tmp_path / "outputs" / "evals" / "rg-mixed--qwen" / "abc123", rows=rows)
    t = load_results(folder)
    assert t.tasks == ["leg_counting", "word_sorting"]
    assert t.models == ["Qwen/Qwen2.5-0.5B-Instruct"]
    r = t.get("leg_counting", "Qwen/Qwen2.5-0.5B-Instruct")
    assert r.n_examples == 2 and r.n_rollouts == 4 and r.accuracy == pytest.approx(0.75)
    assert r.pass_at_k[2] == pytest.approx(1.0) and r.pass_at_k[1] == pytest.approx(0.75)
    assert r.mean_latency_s == pytest.approx(1.5)
    assert t.get("word_sorting", "Qwen/Qwen2.5-0.5B-Instruct").accuracy == pytest.approx(0.25)
    # a parent folder is searched for runs
    assert load_results(tmp_path / "outputs").results == t.results


def test_load_vf_eval_folder_without_info_uses_env_id(tmp_path):
    rows = [{"example_id": 0, "reward": 1.0}, {"example_id": 1, "reward": 0.0}]
    folder = write_vf_eval_dir(tmp_path / "run", env_id="rg-leg-counting", rows=rows, rpe=1)
    t = load_results(folder)
    assert t.tasks == ["leg_counting"]
    r = t.get("leg_counting", "Qwen/Qwen2.5-0.5B-Instruct")
    assert r.accuracy == 0.5 and r.parse_failure_rate == 0.0 and r.mean_latency_s is None


def test_mixed_loading_later_source_wins(tmp_path):
    t = make_table()
    all_path = write_all_results(t, tmp_path / "bench", timestamp="20250101_000000")
    # a newer single-task run of the same model replaces its leg_counting numbers
    newer = summarize_rollouts("Qwen/Qwen2.5-7B-Instruct", "leg_counting", rollouts([0, 0, 0, 1]), 1)
    task_path = write_task_results("leg_counting", [newer], tmp_path / "bench", timestamp="20250102_000000")
    rows = [{"example_id": i, "reward": 1.0, "correct": 1.0, "info": {"task": "leg_counting"}} for i in range(3)]
    vf_dir = write_vf_eval_dir(tmp_path / "vf", model="local/finetuned", rows=rows, rpe=1)

    table = load_results([all_path, task_path, vf_dir])
    assert table.tasks == ["leg_counting", "basic_arithmetic"]
    assert table.models == ["Qwen/Qwen2.5-7B-Instruct", "ckpt/checkpoint-10", "local/finetuned"]
    assert table.get("leg_counting", "Qwen/Qwen2.5-7B-Instruct").accuracy == pytest.approx(0.25)
    assert table.get("leg_counting", "local/finetuned").accuracy == 1.0
    assert table.common_tasks() == ["leg_counting"]

    # discovery orders by the timestamp in the name, not alphabetically ("all_tasks" < "leg_counting")
    older_task = write_task_results("leg_counting", [newer], tmp_path / "disc", timestamp="20240101_000000")
    write_all_results(t, tmp_path / "disc", timestamp="20250101_000000")
    assert older_task.exists()
    disc = load_results(tmp_path / "disc")
    assert disc.get("leg_counting", "Qwen/Qwen2.5-7B-Instruct").accuracy == pytest.approx(0.75)


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(ResultsError, match="not found"):
        load_results(tmp_path / "missing.json")
    bad = tmp_path / "results_x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ResultsError, match="not an rg-verifiers results file"):
        load_results(bad)
    bad.write_text("{nope")
    with pytest.raises(ResultsError, match="not valid JSON"):
        load_results(bad)
    bad.write_text(json.dumps({"schema": "rg-verifiers/results/v9", "kind": "task"}))
    with pytest.raises(ResultsError, match="v9"):
        load_results(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ResultsError, match="no results_"):
        load_results(empty)
    with pytest.raises(ResultsError) as info:
        load_results(bad)
    assert "\n" not in str(info.value)


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    t = make_table()
    path = write_all_results(t, tmp_path, timestamp="20250101_000000")
    before = path.read_text()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(RuntimeError):
        write_all_results(t, tmp_path, config={"changed": True}, timestamp="20250101_000000")
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_wilson_contains_the_proportion_at_the_edges():
    for n in (1, 100, 300, 1200, 1600):
        lo, hi = wilson_interval(n, n)
        assert lo <= 1.0 == hi
        lo, hi = wilson_interval(0, n)
        assert lo == 0.0 <= hi
