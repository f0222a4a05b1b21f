"""The reasoning-gym paper beside your runs: the shipped published scores, `--reference` in
`rgv plot` and `rgv report`, the caveats printed with them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import reasoning_gym

from fake_openai import FakeOpenAI
from rg_verifiers.errors import RGVError
from rg_verifiers.references import reference_answer
from rg_verifiers.results import ResultsTable, load_results
from rg_verifiers.suite_charts import category_scores, overall_scores
from rg_verifiers.suites import load_suite
from rg_verifiers.suites.paper import add_reference, caveats, paper_data, paper_results, paper_runs

RGV = str(Path(sys.executable).parent / "rgv")
TASKS = ["leg_counting", "word_sorting", "complex_arithmetic", "game_of_life_halting"]  # three categories


def test_shipped_figures_name_their_source_and_cover_both_suites():
    src = paper_data()["source"]
    assert src["repository"] == "https://github.com/open-thought/reasoning-gym-eval" and len(src["commit"]) == 40
    assert "zero-shot" in src["path"]
    for suite, tasks in (("rg-easy", 101), ("rg-hard", 100)):
        runs = paper_runs(suite)
        assert len(runs) == 10 and all(r["temperature"] == 0.6 and r["max_tokens"] == 32768 for r in runs)
        assert {t.name for t in load_suite(suite).tasks} == set(paper_data()["suites"][suite]["categories"])
        o3 = next(r for r in runs if r["label"] == "openai_o3-mini")
        assert len(o3["mean"]) == tasks and all(0.0 <= v <= 1.0 for r in runs for v in r["mean"].values())
    # figures as published (summary.json of the o3-mini easy run)
    easy_o3 = next(r for r in paper_runs("rg-easy") if r["label"] == "openai_o3-mini")
    assert easy_o3["best"]["polynomial_equations"] == pytest.approx(0.9995473624353997)
    assert easy_o3["completions_per_prompt"] == 3
    # the one published average outside [0, 1] is replaced by its items' mean, and says so
    (fix,) = paper_data()["corrections"]
    assert (fix["task"], fix["published_mean"], fix["used_mean"]) == ("bf", 59.42, 0.0)


def test_paper_series_hold_the_published_means():
    results = paper_results("rg-hard", ["leg_counting"])
    assert len(results) == 10
    for r in results:
        run = next(x for x in paper_runs("rg-hard") if "paper: " + x["label"] == r.model)
        assert r.accuracy == run["mean"]["leg_counting"] and r.n_examples == run["n"]["leg_counting"] == 50
        assert r.accuracy_ci95[0] <= r.accuracy <= r.accuracy_ci95[1]


def test_category_and_overall_values_are_plain_means():
    table = add_reference(ResultsTable(), "rg-easy")
    cats = paper_data()["suites"]["rg-easy"]["categories"]
    o3 = next(r for r in paper_runs("rg-easy") if r["label"] == "openai_o3-mini")
    arc = [o3["mean"][t] for t, c in cats.items() if c == "arc"]
    assert category_scores(table, cats)["paper: openai_o3-mini"]["arc"] == pytest.approx(sum(arc) / len(arc))
    common, avgs = overall_scores(table)
    assert avgs["paper: openai_o3-mini"]["accuracy"] == pytest.approx(sum(o3["mean"][t] for t in common) / len(common))


def test_caveats_name_settings_and_the_scorer_bug():
    lines = caveats("rg-hard", ["leg_counting"])
    text = "\n".join(lines)
    assert "temperature 0.6" in text and "max_tokens 32768" in text and "reasoning-gym-eval" in text
    assert "game_of_life_halting" not in text
    assert any(line.startswith("game_of_life_halting: its published scores are inflated") for line in caveats("rg-hard"))
    with pytest.raises(RGVError, match="did you mean 'rg-hard'"):
        caveats("rg-hardd")


@pytest.fixture(scope="module")
def bench_folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    refs = {}
    for t in (x for x in load_suite("rg-easy").tasks if x.name in TASKS):
        for e in reasoning_gym.create_dataset(t.name, seed=t.seed, size=4, **t.params):
            refs[e["question"]] = reference_answer(t.name, e) or ""
    with FakeOpenAI(refs) as fake:
        run = subprocess.run([RGV, "bench", "--suite", "rg-easy", "--tasks", *TASKS, "-n", "4", "--models", f"gold={fake.base_url}",
                              "-o", str(tmp / "out"), "--no-plot"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return tmp / "out"


def test_plot_reference_draws_three_charts_with_caveats(bench_folder, tmp_path):
    from PIL import Image

    run = subprocess.run([RGV, "plot", str(bench_folder), "--reference", "rg-easy", "-o", str(tmp_path / "ref.png")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    for name in ("ref.png", "ref_radar.png", "ref_by_task.png"):
        with Image.open(tmp_path / name) as im:
            assert im.format == "PNG" and im.size[0] > 800
    assert "game_of_life_halting: its published scores are inflated" in run.stderr
    assert "temperature 0.6" in run.stderr


def test_report_reference_rows(bench_folder):
    run = subprocess.run([RGV, "report", str(bench_folder), "--reference", "rg-easy", "-f", "csv"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    table = load_results([bench_folder])
    add_reference(table, "rg-easy")
    assert table.get("leg_counting", "gold").accuracy == 1.0
    lines = [line for line in run.stdout.splitlines() if line.startswith("leg_counting,")]
    assert len(lines) == 11 and any("paper: qwen_qwq-32b" in line for line in lines)
