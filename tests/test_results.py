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


def test_mixed_loading_keeps_every_run(tmp_path):
    t = make_table()
    all_path = write_all_results(t, tmp_path / "bench", timestamp="20250101_000000")
    # a second single-task run of the same model into the same folder: kept next to the first
    newer = summarize_rollouts("Qwen/Qwen2.5-7B-Instruct", "leg_counting", rollouts([0, 0, 0, 1]), 1)
    task_path = write_task_results("leg_counting", [newer], tmp_path / "bench", timestamp="20250102_000000")
    rows = [{"example_id": i, "reward": 1.0, "correct": 1.0, "info": {"task": "leg_counting"}} for i in range(3)]
    vf_dir = write_vf_eval_dir(tmp_path / "vf", model="local/finetuned", rows=rows, rpe=1)

    table = load_results([all_path, task_path, vf_dir])
    assert table.tasks == ["leg_counting", "basic_arithmetic"]
    qwen = [m for m in table.models if m.startswith("Qwen/")]
    assert qwen == ["Qwen/Qwen2.5-7B-Instruct [bench 2025-01-01 00:00]", "Qwen/Qwen2.5-7B-Instruct [bench 2025-01-02 00:00]"]
    assert table.get("leg_counting", qwen[0]).accuracy == pytest.approx(0.75)
    assert table.get("leg_counting", qwen[1]).accuracy == pytest.approx(0.25)
    assert table.get("basic_arithmetic", qwen[0]).accuracy == pytest.approx(0.25)
    assert table.get("leg_counting", "local/finetuned").accuracy == 1.0
    assert table.series_model(qwen[1]) == "Qwen/Qwen2.5-7B-Instruct"
    # the order paths come in (a shell glob orders folders by name) changes no number and no label
    again = load_results([vf_dir, task_path, all_path])
    assert {(tk, m): r for tk, pm in again.results.items() for m, r in pm.items()} == \
        {(tk, m): r for tk, pm in table.results.items() for m, r in pm.items()}


def test_one_runs_task_and_all_tasks_files_count_once(tmp_path):
    t = make_table()
    for task, per_model in t.results.items():
        write_task_results(task, per_model, tmp_path, timestamp="20250101_000000")
    write_all_results(t, tmp_path, timestamp="20250101_000000")
    table = load_results(tmp_path)
    assert table.models == ["Qwen/Qwen2.5-7B-Instruct", "ckpt/checkpoint-10"] and not table.notes
    assert table.results == t.results


def test_resumed_run_summaries_of_the_same_rollouts_keep_the_newest(tmp_path):
    old = summarize_rollouts("m", "t", rollouts([1, 0]), 1, extra={"rollouts_file": "rollouts/m__t.jsonl"})
    new = summarize_rollouts("m", "t", rollouts([1, 0, 1, 1]), 1, extra={"rollouts_file": "rollouts/m__t.jsonl"})
    write_task_results("t", [old], tmp_path, timestamp="20250101_000000")
    write_task_results("t", [new], tmp_path, timestamp="20250102_000000")
    table = load_results(tmp_path)
    assert table.models == ["m"] and table.get("t", "m").n_rollouts == 4
    assert len(table.notes) == 1 and "same rollouts" in table.notes[0]


def vf_run(folder, env_id="rg-leg-counting", model="embedded", env_args=None, sampling=None, rows=None, rpe=1):
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps({
        "env_id": env_id, "model": model, "env_args": env_args or {}, "sampling_args": sampling or {"max_tokens": 64},
        "num_examples": len(rows) // rpe, "rollouts_per_example": rpe}))
    with open(folder / "results.jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return folder


def rows_of(task, correct, **extra):
    return [{"example_id": i, "reward": float(c), "correct": float(c), "info": {"rg_task": task}, **extra}
            for i, c in enumerate(correct)]


def test_two_difficulties_of_one_task_and_model_both_appear(tmp_path):
    default = vf_run(tmp_path / "evals" / "rg-leg-counting--embedded" / "f00", rows=rows_of("leg_counting", [1, 1, 0, 0]))
    hard = vf_run(tmp_path / "evals" / "rg-leg-counting--embedded" / "0ab", env_args={"difficulty": 3},
                  rows=rows_of("leg_counting", [0, 0, 0, 1]))
    for order in ([default, hard], [hard, default], [tmp_path / "evals"]):
        table = load_results(order)
        assert sorted(table.models) == ["embedded", "embedded [difficulty=3]"]
        assert table.get("leg_counting", "embedded").accuracy == 0.5
        r = table.get("leg_counting", "embedded [difficulty=3]")
        assert r.accuracy == 0.25 and r.run.task_args == {"difficulty": 3}


def test_composite_run_next_to_single_task_runs(tmp_path):
    # the README's `rgv report outputs/evals/*/*`: the mixture's leg_counting rows must survive
    mixture = {"tasks": [{"name": "leg_counting", "weight": 2, "config": {"max_animals": 5}},
                         {"name": "gcd", "weight": 1, "difficulty": 1}], "num_eval_examples": 6}
    comp = vf_run(tmp_path / "rg-composite--embedded" / "c1", env_id="rg-composite", env_args=mixture,
                  rows=rows_of("leg_counting", [1, 1, 1, 1]) + rows_of("gcd", [0, 1]))
    single = vf_run(tmp_path / "rg-leg-counting--embedded" / "s1", rows=rows_of("leg_counting", [0, 0, 0, 1]))
    table = load_results([comp, single])
    assert table.tasks == ["leg_counting", "gcd"]
    # one series per run; the mixture's says what differs on the task both have
    assert table.models == ["embedded [max_animals=5]", "embedded"]
    assert table.get("leg_counting", "embedded [max_animals=5]").run.task_args == {"config": {"max_animals": 5}}
    assert table.get("gcd", "embedded [max_animals=5]").run.task_args == {"difficulty": 1}
    assert table.get("leg_counting", "embedded").accuracy == 0.25


def test_generation_settings_tell_runs_apart(tmp_path):
    bench = write_task_results("leg_counting", [summarize_rollouts("embedded", "leg_counting", rollouts([1] * 12), 1)],
                               tmp_path / "bench", config={"n": 12, "rollouts": 1, "max_tokens": 1024, "temperature": 0.0,
                                                           "seed": 0, "task": {"name": "leg_counting"}},
                               timestamp="20250101_000000")
    vf = vf_run(tmp_path / "vf" / "r1", sampling={"max_tokens": 256}, rows=rows_of("leg_counting", [0] * 5) * 3, rpe=3)
    table = load_results([bench, vf])
    labels = sorted(table.models)
    assert labels == ["embedded [T=0]", "embedded [T=default]"]
    assert table.get("leg_counting", "embedded [T=0]").n_rollouts == 12
    assert table.get("leg_counting", "embedded [T=default]").n_rollouts == 15


def test_identical_settings_are_labelled_by_run_or_latest_keeps_one(tmp_path):
    a = vf_run(tmp_path / "a", rows=rows_of("leg_counting", [1, 1]))
    b = vf_run(tmp_path / "b", rows=rows_of("leg_counting", [0, 0]))
    os.utime(a / "metadata.json", (1_700_000_000, 1_700_000_000))
    os.utime(b / "metadata.json", (1_700_100_000, 1_700_100_000))
    table = load_results([b, a])
    assert len(table.models) == 2 and all(m.startswith("embedded [vf-eval 2023-11-") for m in table.models)
    latest = load_results([a, b], latest=True)
    assert latest.models == ["embedded"] and latest.get("leg_counting", "embedded").accuracy == 0.0
    assert len(latest.notes) == 1 and str(a) in latest.notes[0] and "--latest kept" in latest.notes[0]


def test_provenance_decides_the_key(tmp_path):
    prov = {"label": "mine", "model": "served-name", "env_id": "rg-leg-counting",
            "env_args": {"config": None, "difficulty": 2, "seed": 0, "system_prompt": None, "prompt_placement": "system",
                         "num_examples": 2},
            "generation": {"max_tokens": 8, "temperature": 0, "top_p": None, "seed": 7}, "quantization": "Q4_1"}
    folder = vf_run(tmp_path / "run", model="served-name", rows=rows_of("leg_counting", [1, 0]))
    meta = json.loads((folder / "metadata.json").read_text())
    meta["rgv_provenance"] = prov
    (folder / "metadata.json").write_text(json.dumps(meta))
    r = load_results(folder).get("leg_counting", "mine")
    assert r.run.task_args == {"difficulty": 2} and r.run.env_args == {}
    assert r.run.generation == {"max_tokens": 8, "temperature": 0.0, "seed": 7}
    assert r.run.provenance["quantization"] == "Q4_1"

    # bench files: a top-level provenance with None where results differ, each result's own in extra
    res = summarize_rollouts("gold", "gcd", rollouts([1, 1]), 1,
                             extra={"provenance": {**prov, "label": "gold", "env_args": {"difficulty": 1}}})
    path = write_task_results("gcd", [res], tmp_path / "b", config={"task": {"name": "gcd"}},
                              provenance={**prov, "env_args": None, "label": None})
    assert json.loads(path.read_text())["provenance"]["quantization"] == "Q4_1"
    loaded = load_results(path).get("gcd", "gold")
    assert loaded.run.task_args == {"difficulty": 1} and loaded.run.generation["seed"] == 7


# --- errors are not scores --------------------------------------------------------------------


def test_model_errors_are_counted_apart_from_accuracy(tmp_path):
    rows = [{"example_id": 0, "reward": 1.0, "correct": 1.0}, {"example_id": 1, "reward": 0.0, "correct": 0.0},
            {"example_id": 2, "reward": 0.0, "correct": 0.0, "error": "request refused (HTTP 400)",
             "status": "request_error"},
            {"example_id": 3, "reward": 0.0, "correct": 0.0, "status": "request_error"}]
    r = summarize_rollouts("m", "t", rows, 1)
    assert r.n_rollouts == 2 and r.n_errors == 2 and r.n_examples == 2
    assert r.accuracy == 0.5 and r.parse_failure_rate == 0.0 and r.error_rate == 0.5
    assert r.extra["first_error"] == "request refused (HTTP 400)"
    # a round trip keeps them apart
    path = write_task_results("t", [r], tmp_path, timestamp="20250101_000000")
    assert load_results(path).get("t", "m") == r

    dead = summarize_rollouts("m", "t", [{"example_id": 0, "error": "ModelError()"}], 1)
    assert dead.n_rollouts == 0 and dead.n_errors == 1 and dead.accuracy is None and not dead.scored
    path = write_task_results("t", [dead], tmp_path / "dead", timestamp="20250101_000000")
    assert load_results(path).get("t", "m").accuracy is None
    t = ResultsTable()
    t.add(dead)
    assert t.average()["m"] == {"accuracy": None, "accuracy_ci95": None, "n_tasks": 0}


def test_vf_eval_model_errors_old_and_new_shapes(tmp_path):
    # verifiers 0.1.x: "error": "ModelError()" and an empty completion
    old = [{"example_id": i, "completion": [], "reward": 0.0, "correct": 0.0, "parse_failure": 1.0, "error": "ModelError()",
            "generation_ms": 3.0} for i in range(3)]
    old += [{"example_id": 3, "completion": [{"role": "assistant", "content": "<answer>4</answer>"}], "reward": 1.0,
             "correct": 1.0, "parse_failure": 0.0, "error": None, "generation_ms": 900.0}]
    r = load_results(vf_run(tmp_path / "old", rows=old)).get("leg_counting", "embedded")
    assert (r.n_rollouts, r.n_errors, r.accuracy, r.parse_failure_rate) == (1, 3, 1.0, 0.0)
    assert r.mean_latency_s == pytest.approx(0.9)  # failed calls' times are not latencies
    # verifiers 0.1.14+/0.3.x: the error is an object
    err = {"error": "ModelError", "message": "Connection error.", "error_chain_repr": "ModelError(APIConnectionError())",
           "error_chain_str": "ModelError: Connection error."}
    new = [{"example_id": i, "reward": 0.0, "error": err, "error_chain": err["error_chain_repr"]} for i in range(2)]
    r = load_results(vf_run(tmp_path / "new", rows=new)).get("leg_counting", "embedded")
    assert r.n_errors == 2 and r.accuracy is None and r.extra["first_error"] == "ModelError(APIConnectionError())"


def test_legacy_bench_file_with_request_errors_is_corrected(tmp_path):
    d = {"model": "m", "task": "t", "n_examples": 10, "n_rollouts": 10, "accuracy": 0.4, "accuracy_ci95": [0.1, 0.7],
         "mean_reward": 0.4, "parse_failure_rate": 0.2, "pass_at_k": {"1": 0.4},
         "extra": {"statuses": {"ok": 8, "request_error": 2}}}
    path = tmp_path / "results_t_20250101_000000.json"
    path.write_text(json.dumps({"schema": SCHEMA, "kind": "task", "task": "t", "models": {"m": d}}))
    r = load_results(path).get("t", "m")
    assert r.n_rollouts == 8 and r.n_errors == 2
    assert r.accuracy == pytest.approx(0.5) and r.parse_failure_rate == pytest.approx(0.25)
    assert r.accuracy_ci95 == pytest.approx(wilson_interval(4, 8)) and r.pass_at_k == {}


def test_verifiers_031_tokens_and_latency_are_read(tmp_path):
    # what verifiers 0.3.1's state_to_output writes: token_usage and a RolloutTiming dump (seconds)
    rows = [{"example_id": i, "reward": 1.0, "correct": 1.0, "token_usage": {"input_tokens": 80.0, "output_tokens": 10.0 + i},
             "timing": {"start_time": 1.0, "setup": {"start": 1.0, "end": 1.0, "duration": 0.0},
                        "generation": {"start": 1.0, "end": 3.0, "duration": 2.0}, "scoring": {"start": 3.0, "end": 3.1, "duration": 0.1},
                        "model": {"spans": [], "duration": 1.9}, "env": {"spans": [], "duration": 0.0}, "total": 2.1, "overhead": 0.0},
             "info": {"rg_task": "leg_counting"}} for i in range(2)]
    r = load_results(vf_run(tmp_path / "v031", rows=rows)).get("leg_counting", "embedded")
    assert r.mean_completion_tokens == pytest.approx(10.5) and r.mean_latency_s == pytest.approx(2.0)


@pytest.mark.parametrize("meta,rows,match", [
    ("[1, 2]", "{}\n", "metadata.json is not a JSON object"),
    ('{"env_id": "rg-x", "model": "m"}', "[1]\n", "line 1 is not a JSON object"),
    ('{"env_id": "rg-x", "model": "m"}', '{"reward": "high"}\n', "line 1: reward/correct/parse_failure are not numbers"),
    ('{"env_id": "rg-x", "model": "m", "rollouts_per_example": "four"}', "{}\n", "rollouts_per_example is not a number"),
    ('{"env_id": "rg-x", "model": "m"}', "\n", "has no rollouts"),
])
def test_malformed_vf_eval_folders_are_one_line(tmp_path, meta, rows, match):
    (tmp_path / "metadata.json").write_text(meta)
    (tmp_path / "results.jsonl").write_text(rows)
    with pytest.raises(ResultsError, match=match) as info:
        load_results(tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("doc,match", [
    ({"kind": "task", "task": "t", "models": []}, "needs a task name and a models object"),
    ({"kind": "task", "task": "t", "models": {"m": 3}}, "is not a JSON object"),
    ({"kind": "task", "task": "t", "models": {"m": {"n_examples": 1, "n_rollouts": "x", "accuracy": 1}}}, "malformed field"),
    ({"kind": "all_tasks", "results": {"t": []}}, "must map tasks"),
])
def test_malformed_results_files_are_one_line(tmp_path, doc, match):
    path = tmp_path / "results_t_20250101_000000.json"
    path.write_text(json.dumps({"schema": SCHEMA, **doc}))
    with pytest.raises(ResultsError, match=match):
        load_results(path)


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


def test_resolved_generation_in_sampling_args_wins(tmp_path):
    # a plain vf-eval run of our environments: sampling_args carry what the environment resolved
    folder = vf_run(tmp_path / "r", sampling={"max_tokens": 8, "rgv_generation": {"max_tokens": 8, "temperature": 0.0,
                                                                                   "top_p": 1.0, "seed": 0}},
                    rows=rows_of("leg_counting", [1]))
    r = load_results(folder).get("leg_counting", "embedded")
    assert r.run.generation == {"max_tokens": 8, "temperature": 0.0, "seed": 0}  # top_p=1 is the API default
