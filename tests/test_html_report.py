"""`rgv report --html`: one self-contained page, rendered in headless Chromium (Debian's package)."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import reasoning_gym

from fake_openai import FakeOpenAI
from rg_verifiers.browser import find_chromium, render, screenshot
from rg_verifiers.references import reference_answer
from rg_verifiers.results import load_results
from rg_verifiers.suites import load_suite
from rg_verifiers.suites.paper import paper_runs

RGV = str(Path(sys.executable).parent / "rgv")
TASKS = ["leg_counting", "basic_arithmetic", "spell_backward"]


class Page(HTMLParser):
    """Per-task cells (data-* attributes), link/source attributes, and <details> count of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.cells, self.links, self.details, self.task = {}, [], 0, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "xlink:href", "action"):
            if a.get(key):
                self.links.append(a[key])
        if tag == "tr" and "data-task" in a:
            self.task = a["data-task"]
        if tag == "td" and "data-accuracy" in a:
            self.cells[(self.task, a["data-series"])] = (float(a["data-accuracy"]), int(a["data-n"]))
        if tag == "details":
            self.details += 1


@pytest.fixture(scope="module")
def bench_folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    suite = load_suite("rg-easy")
    refs = {}
    for t in (x for x in suite.tasks if x.name in TASKS):
        for e in reasoning_gym.create_dataset(t.name, seed=t.seed, size=5, **t.params):
            refs[e["question"]] = reference_answer(t.name, e) or ""
    with FakeOpenAI(refs) as fake:
        run = subprocess.run([RGV, "bench", "--suite", "rg-easy", "--tasks", *TASKS, "-n", "5", "--models", f"gold={fake.base_url}",
                              f"wrong={fake.base_url}", "-o", str(tmp / "out"), "--no-plot"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return tmp / "out"


def test_html_report_renders_in_chromium(bench_folder, tmp_path):
    assert find_chromium(), "Chromium is needed: apt-get install -y chromium (setup.sh installs it where apt is available)"
    page = tmp_path / "report.html"
    run = subprocess.run([RGV, "report", str(bench_folder), "--html", str(page), "--reference", "rg-easy"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "game_of_life_halting" not in run.stderr  # its caveat only where the task is shown
    assert "temperature" in run.stderr and "max_tokens" in run.stderr  # the comparison's caveats are printed
    raw = page.read_text()
    rendered = render(page)
    assert rendered.console == [], rendered.console  # no console errors (nor any other message)
    dom = Page(rendered.dom)
    # self-contained: nothing is fetched (in-page anchors only)
    assert all(link.startswith("#") for link in dom.links), [x for x in dom.links if not x.startswith("#")][:5]
    assert raw.count("<svg") == 1 + 2  # overall and one per category (two categories: no radar)
    # the tables hold the numbers of the results files
    table = load_results([bench_folder])
    for task in TASKS:
        for model in ("gold", "wrong"):
            r = table.get(task, model)
            assert dom.cells[(task, model)] == (pytest.approx(r.accuracy), r.n_rollouts)
        # the paper's runs: the published mean scores shipped in the data file
        for run_ in paper_runs("rg-easy"):
            if task in run_["mean"]:
                assert dom.cells[(task, "paper: " + run_["label"])][0] == pytest.approx(run_["mean"][task])
    assert dom.cells[("leg_counting", "gold")] == (1.0, 5) and dom.cells[("leg_counting", "wrong")][0] == 0.0
    # samples: per task one collapsible block holding both models' completions, correct and wrong
    assert dom.details >= len(TASKS) * 3
    assert "Sample completions: leg_counting" in raw and "correct (score 1.00)" in raw and "wrong (score 0.00)" in raw
    assert "published questions rebuilt" in raw and ">0/5<" in raw  # spell_backward's easy wording changed
    shot = screenshot(page, tmp_path / "report.png", height=1600)
    from PIL import Image

    with Image.open(shot) as im:
        assert im.format == "PNG" and im.size == (1280, 1600)
        assert len(set(im.convert("L").resize((64, 80)).tobytes())) > 8  # not a blank page
    print(f"\nscreenshot: {shot}\nreport: {page}")


def test_console_errors_are_caught(tmp_path):
    """The check above can fail: a page that logs an error is seen as such."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>console.error('broken-chart')</script></body></html>")
    assert any("broken-chart" in line for line in render(page).console)


def test_report_rows_and_unknown_reference(bench_folder):
    run = subprocess.run([RGV, "report", str(bench_folder), "--reference", "rg-easy", "-f", "json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(run.stdout)["rows"] if "rows" in json.loads(run.stdout) else json.loads(run.stdout)
    labels = {r["label"] for r in rows}
    assert {"gold", "wrong", "paper: openai_o3-mini"} <= labels
    bad = subprocess.run([RGV, "report", str(bench_folder), "--reference", "rg-eazy"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "did you mean 'rg-easy'" in bad.stderr and "Traceback" not in bad.stderr
