"""reasoning-gym eval output folders (summary.json + <category>/<task>.json): read as results,
and written from ours in the same shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import reasoning_gym

from fake_openai import FakeOpenAI
from rg_verifiers.references import reference_answer
from rg_verifiers.results import load_results
from rg_verifiers.rg_eval_format import is_rg_eval_dir, read_run_dir
from rg_verifiers.samples import samples_for
from rg_verifiers.suites import load_suite

RGV = str(Path(sys.executable).parent / "rgv")


def rg_run(folder: Path, with_items: bool = True) -> Path:
    """A folder as reasoning-gym's eval.py writes it: three completions per item, partial scores."""
    run = folder / "openai_o3-mini_20250101_000000"
    items = [
        {"question": "q0", "expected_answer": "4", "best_model_answer": "4", "best_full_model_response": "<answer>4</answer>",
         "best_score": 1.0, "mean_score": 2 / 3,
         "completions": [{"model_answer": "4", "full_model_response": "<answer>4</answer>", "score": 1.0},
                         {"model_answer": "4", "full_model_response": "so <answer>4</answer>", "score": 1.0},
                         {"model_answer": None, "full_model_response": "no idea", "score": 0.0}]},
        {"question": "q1", "expected_answer": "cat", "best_model_answer": "cats", "best_full_model_response": "<answer>cats</answer>",
         "best_score": 0.5, "mean_score": 0.5,
         "completions": [{"model_answer": "cats", "full_model_response": "<answer>cats</answer>", "score": 0.5}] * 3},
    ]
    task = {"name": "leg_counting", "category": "arithmetic", "average_best_score": 0.75, "average_mean_score": (2 / 3 + 0.5) / 2,
            "total_examples": 2, "config": {"size": 2, "seed": 45, "min_animals": 3}, "system_prompt": "sys",
            "completions_per_prompt": 3, "results": items if with_items else []}
    (run / "arithmetic").mkdir(parents=True)
    (run / "arithmetic" / "leg_counting.json").write_text(json.dumps(task))
    summary = {"total_datasets": 2, "total_examples": 4, "dataset_best_scores": {"leg_counting": 0.75, "gcd": 0.5},
               "dataset_mean_scores": {"leg_counting": task["average_mean_score"], "gcd": 0.25}, "model": "openai/o3-mini",
               "provider": "OpenAI", "max_tokens": 32768, "temperature": 0.6, "top_p": 0.95, "completions_per_prompt": 3}
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_read_run_folder(tmp_path):
    run = rg_run(tmp_path)
    assert is_rg_eval_dir(run) and not is_rg_eval_dir(tmp_path)
    results = {r.task: r for r in read_run_dir(run)}
    leg = results["leg_counting"]
    assert (leg.model, leg.n_examples, leg.n_rollouts) == ("openai/o3-mini", 2, 6)
    assert leg.accuracy == pytest.approx((1 + 1 + 0 + 0.5 * 3) / 6)  # every completion, partial scores as fractions
    assert leg.parse_failure_rate == pytest.approx(1 / 6) and 1 in leg.pass_at_k
    assert leg.run.kind == "rg-eval" and leg.run.generation == {"max_tokens": 32768, "temperature": 0.6, "top_p": 0.95}
    assert leg.run.task_args == {"config": {"min_animals": 3}} and leg.extra["category"] == "arithmetic"
    # a task with only its summary.json figure: its published mean over the summary's items per task
    gcd = results["gcd"]
    assert (gcd.accuracy, gcd.n_examples, gcd.n_rollouts) == (0.25, 2, 6)
    samples = samples_for(leg)
    assert [s.completion for s in samples["correct"]] == ["<answer>4</answer>", "so <answer>4</answer>"]
    assert samples["wrong"][0].question == "q0" and samples["wrong"][0].answer is None


def test_task_file_without_items_uses_its_average(tmp_path):
    (leg,) = [r for r in read_run_dir(rg_run(tmp_path, with_items=False)) if r.task == "leg_counting"]
    assert leg.accuracy == pytest.approx((2 / 3 + 0.5) / 2) and (leg.n_examples, leg.n_rollouts) == (2, 6)


def test_bench_results_written_as_rg_eval_and_read_back(tmp_path):
    suite = load_suite("rg-easy")
    tasks = ["leg_counting", "word_sorting"]
    refs = {}
    for t in (x for x in suite.tasks if x.name in tasks):
        for e in reasoning_gym.create_dataset(t.name, seed=t.seed, size=4, **t.params):
            refs[e["question"]] = reference_answer(t.name, e) or ""
    with FakeOpenAI(refs) as fake:
        run = subprocess.run([RGV, "bench", "--suite", "rg-easy", "--tasks", *tasks, "-n", "4", "-r", "2", "-T", "0.7", "--models",
                              f"gold={fake.base_url}", f"wrong={fake.base_url}", "-o", str(tmp_path / "out"), "--no-plot"],
                             capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    table = load_results([tmp_path / "out"])
    wrote = subprocess.run([RGV, "report", str(tmp_path / "out"), "--format", "rg-json", "-o", str(tmp_path / "rg")],
                           capture_output=True, text=True, timeout=120)
    assert wrote.returncode == 0 and "rg/gold/ (summary.json" in wrote.stderr, wrote.stderr[-2000:]
    for model in ("gold", "wrong"):
        folder = tmp_path / "rg" / model
        summary = json.loads((folder / "summary.json").read_text())
        assert set(summary["dataset_mean_scores"]) == set(tasks) and summary["temperature"] == 0.7
        doc = json.loads((folder / "arithmetic" / "leg_counting.json").read_text())
        assert doc["config"] == {"size": 50, "seed": 45} and doc["completions_per_prompt"] == 2
        assert [r["question"] for r in doc["results"]] == [e["question"] for e in reasoning_gym.create_dataset("leg_counting", seed=45, size=4)]
        back = {r.task: r for r in read_run_dir(folder)}
        for task in tasks:
            assert back[task].accuracy == pytest.approx(table.get(task, model).accuracy)
            assert back[task].n_rollouts == table.get(task, model).n_rollouts == 8
            assert summary["dataset_mean_scores"][task] == pytest.approx(table.get(task, model).accuracy)



def test_report_format_rg_json_needs_a_folder(tmp_path):
    bad = subprocess.run([RGV, "report", str(rg_run(tmp_path)), "--format", "rg-json"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "give -o DIR" in bad.stderr and "Traceback" not in bad.stderr


def test_report_and_plot_read_rg_eval_folders(tmp_path):
    """A folder of reasoning-gym eval runs (as the paper's published runs are laid out) charts beside ours."""
    rg_run(tmp_path / "runs")
    table = load_results([tmp_path / "runs"])
    assert set(table.tasks) == {"leg_counting", "gcd"} and table.models == ["openai/o3-mini"]
    assert table.get("leg_counting", "openai/o3-mini").n_rollouts == 6
    run = subprocess.run([RGV, "report", str(tmp_path / "runs"), "-f", "csv"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "leg_counting,openai/o3-mini" in run.stdout, run.stderr[-2000:]
    plot = subprocess.run([RGV, "plot", str(tmp_path / "runs"), "-o", str(tmp_path / "c.png")], capture_output=True, text=True, timeout=120)
    assert plot.returncode == 0 and (tmp_path / "c.png").is_file(), plot.stderr[-2000:]
