import json
import warnings

import pytest
from PIL import Image

from rg_verifiers.plotting import (
    DPI,
    PlotError,
    display_labels,
    load_renames,
    plot_delta,
    plot_heatmap,
    plot_results,
    plot_summary,
    plot_task,
    short_label,
    wrap_label,
)
from rg_verifiers.results import ResultsTable, summarize_rollouts, write_all_results, write_task_results

BASE = "Qwen/Qwen2.5-7B-Instruct"
FT = "experiments/leg_counting_qwen7b/checkpoint-450"
OTHER = "meta-llama/Llama-3.1-8B-Instruct"
TASKS = ["leg_counting", "basic_arithmetic", "word_sorting"]


def result(model, task, n_correct, n=20):
    rows = [{"example_id": i, "reward": float(i < n_correct), "correct": float(i < n_correct)} for i in range(n)]
    return summarize_rollouts(model, task, rows, 1)


@pytest.fixture
def table():
    t = ResultsTable()
    for i, task in enumerate(TASKS):
        t.add(result(BASE, task, 5 + i))
        t.add(result(FT, task, 12 - 4 * i))  # better on the first task, worse on the last
        t.add(result(OTHER, task, 10))
    return t


def assert_png(path, fig):
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        w, h = fig.get_size_inches()
        assert img.format == "PNG"
        assert img.size == (round(w * DPI), round(h * DPI))


def xticks(ax):
    return [t.get_text() for t in ax.get_xticklabels()]


# --- labels ---------------------------------------------------------------------------------


def test_short_label():
    assert short_label(FT) == "leg_counting_qwen7b/ckpt-450"
    assert short_label(BASE) == "Qwen2.5-7B-Instruct"
    assert short_label("/abs/path/run/checkpoint_12/") == "run/ckpt-12"
    assert short_label("gpt-4o") == "gpt-4o"


def test_wrap_label_splits_at_separators():
    wrapped = wrap_label("a_very_long_model_name-with-many-parts", width=12)
    lines = wrapped.split("\n")
    assert len(lines) > 1 and all(len(line) <= 12 for line in lines)
    assert "".join(lines) == "a_very_long_model_name-with-many-parts"
    assert wrap_label("short") == "short"


def test_display_labels_disambiguates_and_renames():
    labels = display_labels(["org1/model", "org2/model", BASE], {BASE: "base"})
    assert labels == {"org1/model": "org1/model", "org2/model": "org2/model", BASE: "base"}


def test_load_renames(tmp_path):
    f = tmp_path / "names.json"
    f.write_text(json.dumps({BASE: "from-file", OTHER: "llama"}))
    assert load_renames([f"{BASE}=cli", "a=b=c"], f) == {BASE: "cli", OTHER: "llama", "a": "b=c"}
    with pytest.raises(PlotError, match=r"^--rename expects OLD=NEW, got 'x'$"):
        load_renames(["x"])
    with pytest.raises(PlotError, match="OLD=NEW"):
        load_renames(["=new"])
    with pytest.raises(PlotError, match="not found"):
        load_renames([], tmp_path / "missing.json")
    f.write_text("[1, 2]")
    with pytest.raises(PlotError, match="JSON object"):
        load_renames([], f)
    f.write_text("{oops")
    with pytest.raises(PlotError, match="not valid JSON"):
        load_renames([], f)


# --- charts ---------------------------------------------------------------------------------


def test_plot_task_png(table, tmp_path):
    out = tmp_path / "task.png"
    fig = plot_task(table, "leg_counting", out, labels={BASE: "base"})
    assert_png(out, fig)
    assert xticks(fig.axes[0]) == ["base", "leg_counting_qwen7b/\nckpt-450", "Llama-3.1-8B-Instruct"]
    assert fig.get_dpi() == DPI


def test_plot_task_unknown_task(table, tmp_path):
    with pytest.raises(ValueError, match="did you mean 'leg_counting'"):
        plot_task(table, "leg_count", tmp_path / "x.png")


def test_plot_summary_png_and_width_grows_with_tasks(table, tmp_path):
    out = tmp_path / "summary.png"
    fig = plot_summary(table, out, title="T")
    assert_png(out, fig)
    assert xticks(fig.axes[0]) == TASKS + ["Average\n(3 tasks)"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["Qwen2.5-7B-Instruct", "leg_counting_qwen7b/\nckpt-450", "Llama-3.1-8B-Instruct"]

    big = ResultsTable()
    for i in range(40):
        for m in (BASE, FT, OTHER):
            big.add(result(m, f"task_{i}", i % 20))
    fig_big = plot_summary(big, tmp_path / "big.png")
    assert_png(tmp_path / "big.png", fig_big)
    assert fig_big.get_size_inches()[0] > fig.get_size_inches()[0]


def test_plot_heatmap_png(table, tmp_path):
    out = tmp_path / "heat.png"
    fig = plot_heatmap(table, out)
    assert_png(out, fig)
    ax = fig.axes[0]
    assert xticks(ax) == TASKS + ["Average"]
    assert len(fig.axes) == 2  # heatmap + colorbar
    annotations = {t.get_text() for t in ax.texts}
    assert f"{table.get('leg_counting', FT).accuracy:.2f}" in annotations


def test_plot_heatmap_missing_cell(table, tmp_path):
    table.add(result("solo/model", "extra_task", 3))
    fig = plot_heatmap(table, tmp_path / "heat.png")
    assert "–" in {t.get_text() for t in fig.axes[0].texts}
    # no task shared by all four models: the summary still renders, with an empty Average group
    fig = plot_summary(table, tmp_path / "summary.png")
    assert_png(tmp_path / "summary.png", fig)
    assert xticks(fig.axes[0])[-1] == "Average\n(no common tasks)"


def test_plot_delta_png(table, tmp_path):
    out = tmp_path / "delta.png"
    fig = plot_delta(table, BASE, FT, out)
    assert_png(out, fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == TASKS + ["Average (3 tasks)"]
    bars = ax.patches
    # +7 pp (green), -1 pp... : leg_counting 12 vs 5, basic_arithmetic 8 vs 6, word_sorting 4 vs 7
    colors = [b.get_facecolor()[:3] for b in bars[:3]]
    assert colors[0] == pytest.approx((0x2C / 255, 0xA0 / 255, 0x2C / 255))
    assert colors[2] == pytest.approx((0xD6 / 255, 0x27 / 255, 0x28 / 255))
    assert [round(b.get_width(), 4) for b in bars[:3]] == [0.35, 0.1, -0.15]


def test_plot_delta_unknown_model(table, tmp_path):
    with pytest.raises(PlotError, match="no results for model 'nope'"):
        plot_delta(table, "nope", FT, tmp_path / "d.png")


@pytest.mark.parametrize("ext,magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_vector_formats(table, tmp_path, ext, magic):
    out = tmp_path / f"summary.{ext}"
    plot_summary(table, out)
    assert out.read_bytes().startswith(magic)
    if ext == "svg":
        assert b"<svg" in out.read_bytes()[:2000]


def test_unsupported_format(table, tmp_path):
    with pytest.raises(PlotError, match="unsupported output format '.jpg'"):
        plot_summary(table, tmp_path / "x.jpg")


# --- plot_results ---------------------------------------------------------------------------


def test_plot_results_single_task(table, tmp_path):
    path = write_task_results("leg_counting", table.results["leg_counting"], tmp_path / "r", timestamp="20250101_000000")
    written = plot_results([path], tmp_path / "out" / "chart.png", renames={BASE: "base"})
    assert written == [tmp_path / "out" / "chart.png"]
    with Image.open(written[0]) as img:
        assert img.format == "PNG"


def test_plot_results_multi_task_with_delta(table, tmp_path):
    path = write_all_results(table, tmp_path / "r", timestamp="20250101_000000")
    out = tmp_path / "chart.svg"
    written = plot_results([path], out, title="My run", renames={BASE: "base", FT: "tuned"},
                           baseline="base", finetuned=FT)
    assert written == [out, tmp_path / "chart_heatmap.svg", tmp_path / "chart_delta.svg"]
    for p in written:
        assert p.read_bytes().startswith(b"<?xml")
    # matplotlib draws SVG text as paths but keeps each string as a comment
    assert "<!-- My run -->" in out.read_text()


def test_plot_results_delta_uses_renamed_labels(table, tmp_path):
    path = write_all_results(table, tmp_path / "r", timestamp="20250101_000000")
    from rg_verifiers import plotting

    seen = {}
    original = plotting.plot_delta

    def spy(t, b, f, out, title=None, labels=None):
        fig = original(t, b, f, out, title=title, labels=labels)
        seen["title"] = fig.axes[0].get_title()
        return fig

    plotting.plot_delta = spy
    try:
        plot_results([path], tmp_path / "c.png", renames={BASE: "base", FT: "tuned"}, baseline=BASE, finetuned="tuned")
    finally:
        plotting.plot_delta = original
    assert seen["title"] == "tuned vs base"


def test_plot_results_errors(table, tmp_path):
    path = write_all_results(table, tmp_path / "r", timestamp="20250101_000000")
    with pytest.raises(PlotError, match="must be given together"):
        plot_results([path], tmp_path / "c.png", baseline=BASE)
    with pytest.raises(PlotError, match="--finetuned 'ghost' is not among the loaded models"):
        plot_results([path], tmp_path / "c.png", baseline=BASE, finetuned="ghost")
    with pytest.raises(PlotError, match="unsupported output format"):
        plot_results([path], tmp_path / "c.gif")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_results([path], tmp_path / "c.png", renames={"typo/model": "x"})
    assert any("typo/model" in str(w.message) for w in caught)
