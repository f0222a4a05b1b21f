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
    with pytest.raises(PlotError, match="must map model ids to display names"):
        load_renames([], f)
    f.write_text("{oops")
    with pytest.raises(PlotError, match="is neither JSON nor YAML"):
        load_renames([], f)
    # YAML too, as scripts/plot_benchmark.py reads it; numbers and booleans stay the strings written
    y = tmp_path / "names.yaml"
    y.write_text(f"{BASE}: Qwen 7B\n'{OTHER}': 2.5\nmodel-x: yes\n")
    assert load_renames([f"{BASE}=cli"], y) == {BASE: "cli", OTHER: "2.5", "model-x": "yes"}


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
    # the same units as the bars: percent, not 0.60
    assert f"{table.get('leg_counting', FT).accuracy:.0%}" in annotations
    assert fig.axes[1].get_yticklabels()[-1].get_text().endswith("%")


def test_plot_heatmap_missing_cell(table, tmp_path):
    table.add(result("solo/model", "extra_task", 3))
    fig = plot_heatmap(table, tmp_path / "heat.png")
    assert "–" in {t.get_text() for t in fig.axes[0].texts}
    # no task shared by all four models: the summary still renders, without an Average group
    fig = plot_summary(table, tmp_path / "summary.png")
    assert_png(tmp_path / "summary.png", fig)
    assert xticks(fig.axes[0]) == TASKS + ["extra_task"]


def test_plot_delta_png(table, tmp_path):
    out = tmp_path / "delta.png"
    fig = plot_delta(table, BASE, FT, out)
    assert_png(out, fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == TASKS + ["Average (3 tasks)"]
    bars = ax.patches
    # leg_counting 12 vs 5 up, word_sorting 4 vs 7 down: blue and vermillion (not red/green), signed labels
    colors = [b.get_facecolor()[:3] for b in bars[:3]]
    assert colors[0] == pytest.approx((0x00 / 255, 0x72 / 255, 0xB2 / 255))
    assert colors[2] == pytest.approx((0xD5 / 255, 0x5E / 255, 0x00 / 255))
    texts = [t.get_text().strip() for t in ax.texts]
    assert texts[0] == "+35.0 pp" and texts[2] == "-15.0 pp"
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

    def spy(t, b, f, out, **kwargs):
        fig = original(t, b, f, out, **kwargs)
        seen["title"] = fig._suptitle.get_text()
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


# --- issue 9: n per bar, palette, metrics, categories, titles, averages, every run kept ---------


from rg_verifiers.plotting import OKABE_ITO, get_metric, order_tasks  # noqa: E402
from rg_verifiers.results import load_results  # noqa: E402


def bar_colors(ax):
    return [matplotlib_hex(p.get_facecolor()) for p in ax.patches]


def matplotlib_hex(rgba):
    from matplotlib.colors import to_hex

    return to_hex(rgba).upper()


def test_bars_show_n_per_bar_and_errors_apart(table, tmp_path):
    rows = [{"example_id": i, "reward": 1.0, "correct": 1.0} for i in range(6)]
    rows += [{"example_id": 6 + i, "error": "ModelError()"} for i in range(3)]
    table.add(summarize_rollouts("flaky/model", "leg_counting", rows, 1))
    fig = plot_task(table, "leg_counting", tmp_path / "t.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "25.0%\nn=20" in texts
    # errors are not zeros: the bar is 100% of the 6 scored rollouts, the 3 errors are named
    assert "100.0%\nn=6 (+3 err)" in texts
    summary = plot_summary(table, tmp_path / "s.png")
    assert any("n=20" in t.get_text() for t in summary.axes[0].texts)


def test_every_call_failed_is_said_not_drawn_as_zero(table, tmp_path):
    table.add(summarize_rollouts("dead/endpoint", "leg_counting", [{"example_id": i, "error": "ModelError()"} for i in range(4)], 1))
    fig = plot_task(table, "leg_counting", tmp_path / "t.png")
    assert "no answers\n(4 errors)" in [t.get_text() for t in fig.axes[0].texts]
    heat = plot_heatmap(table, tmp_path / "h.png")
    assert "4 errors" in {t.get_text() for t in heat.axes[0].texts}


def test_colour_blind_safe_palette(table, tmp_path):
    fig = plot_summary(table, tmp_path / "s.png")
    used = set(bar_colors(fig.axes[0]))
    assert {c.upper() for c in OKABE_ITO[:3]} <= used
    assert "#2CA02C" not in used and "#D62728" not in used  # tab10's green/red


def test_title_keeps_the_interval_note(table, tmp_path):
    fig = plot_summary(table, tmp_path / "s.png", title="Figure 3")
    assert fig._suptitle.get_text() == "Figure 3"
    assert "95% Wilson CI" in fig.axes[0].get_title()
    fig = plot_task(table, "leg_counting", tmp_path / "t.png", title="Figure 4")
    assert fig._suptitle.get_text() == "Figure 4" and "95% Wilson CI" in fig.axes[0].get_title()


def test_no_average_of_one_task(tmp_path):
    t = ResultsTable()
    t.add(result(BASE, "leg_counting", 5))
    t.add(result(FT, "leg_counting", 9))
    t.add(result(FT, "gcd", 9))  # BASE lacks gcd: one task in common
    fig = plot_summary(t, tmp_path / "s.png")
    assert not any("Average" in x for x in xticks(fig.axes[0]))
    heat = plot_heatmap(t, tmp_path / "h.png")
    assert "Average" not in xticks(heat.axes[0])
    delta = plot_delta(t, BASE, FT, tmp_path / "d.png")
    assert [x.get_text() for x in delta.axes[0].get_yticklabels()] == ["leg_counting"]


@pytest.mark.parametrize("name,rate", [("accuracy", True), ("parse-failure", True), ("error-rate", True), ("tokens", False)])
def test_metrics_share_units_on_bars_and_heatmap(tmp_path, name, rate):
    t = ResultsTable()
    for m, c in ((BASE, 5), (FT, 15)):
        for task in ("leg_counting", "gcd"):
            rows = [{"example_id": i, "reward": float(i < c), "correct": float(i < c), "parse_failure": int(i >= c),
                     "completion_tokens": 100 + i} for i in range(20)]
            t.add(summarize_rollouts(m, task, rows, 1))
    metric = get_metric(name)
    fig = plot_summary(t, tmp_path / "s.png", metric=metric)
    assert fig.axes[0].get_ylabel() == metric.title
    ticks = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    heat = plot_heatmap(t, tmp_path / "h.png", metric=metric)
    cells = [x.get_text() for x in heat.axes[0].texts]
    if rate:
        assert ticks[-1] == "100%" and all(c.endswith("%") for c in cells)
    else:
        assert not any(x.endswith("%") for x in ticks) and "110" in cells  # mean of 100..119 rounds to 110
    if name == "parse-failure":
        assert "75%" in cells  # BASE: 15 of 20 unparsed


def test_pass_at_k_metric(tmp_path):
    t = ResultsTable()
    for m in (BASE, FT):
        rows = [{"example_id": i // 4, "reward": float(i % 4 == 0), "correct": float(i % 4 == 0)} for i in range(40)]
        t.add(summarize_rollouts(m, "leg_counting", rows, 4))
        t.add(summarize_rollouts(m, "gcd", rows, 4))
    metric = get_metric("pass@k", t)
    assert metric.name == "pass@4" and metric.value(t.get("gcd", BASE)) == 1.0
    assert get_metric("pass@2").value(t.get("gcd", BASE)) == pytest.approx(0.5)
    out = plot_results(t, tmp_path / "p.png", metric="pass@k")
    assert len(out) == 2
    single = ResultsTable()
    single.add(result(BASE, "gcd", 3))
    with pytest.raises(PlotError, match="several rollouts per item"):
        get_metric("pass@k", single)
    with pytest.raises(PlotError, match="unknown --metric 'acuracy'; did you mean 'accuracy'"):
        get_metric("acuracy")


def test_tasks_sorted_and_grouped_by_category(table, tmp_path):
    table.add(result(BASE, "gcd", 19))  # arithmetic; leg_counting, basic_arithmetic are arithmetic too
    assert order_tasks(table, sort="name")[0] == sorted(table.tasks)
    by_value, _ = order_tasks(table, sort="value")
    assert by_value[0] == "gcd"  # BASE 95%, the only series there
    tasks, cats = order_tasks(table, sort="name", by_category=True)
    assert cats == {"basic_arithmetic": "arithmetic", "gcd": "arithmetic", "leg_counting": "arithmetic",
                    "word_sorting": "algorithmic"}
    assert tasks == ["word_sorting", "basic_arithmetic", "gcd", "leg_counting"]
    fig = plot_summary(table, tmp_path / "s.png", tasks=tasks, categories=cats)
    assert xticks(fig.axes[0])[:4] == tasks
    top = fig.axes[0].child_axes[0]  # the category axis over the groups
    assert [x.get_text() for x in top.get_xticklabels()] == ["algorithmic", "arithmetic"]
    with pytest.raises(PlotError, match="unknown --sort"):
        order_tasks(table, sort="size")


def _vf_run(folder, difficulty=None, correct=(1, 0, 1, 0), model="Qwen/Qwen2.5-0.5B-Instruct"):
    folder.mkdir(parents=True)
    env_args = {"num_eval_examples": len(correct)} | ({"difficulty": difficulty} if difficulty is not None else {})
    (folder / "metadata.json").write_text(json.dumps({"env_id": "rg-leg-counting", "model": model, "env_args": env_args,
                                                      "sampling_args": {"max_tokens": 64}, "rollouts_per_example": 1}))
    (folder / "results.jsonl").write_text("".join(
        json.dumps({"example_id": i, "reward": float(c), "correct": float(c), "info": {"rg_task": "leg_counting"}}) + "\n"
        for i, c in enumerate(correct)))
    return folder


def test_two_difficulties_are_two_bars(tmp_path):
    a = _vf_run(tmp_path / "evals" / "x" / "aaa")
    b = _vf_run(tmp_path / "evals" / "x" / "bbb", difficulty=3, correct=(0, 0, 0, 1))
    out = plot_results([b, a], tmp_path / "c.png", renames={"Qwen/Qwen2.5-0.5B-Instruct": "qwen"})
    assert out == [tmp_path / "c.png"]
    table = load_results([b, a])
    fig = plot_task(table, "leg_counting", tmp_path / "t.png",
                    labels=display_labels(table.models, {"Qwen/Qwen2.5-0.5B-Instruct": "qwen"}, table.series))
    assert sorted(xticks(fig.axes[0])) == ["qwen", "qwen\n[difficulty=3]"]
    # --baseline/--finetuned take the labels
    written = plot_results([a, b], tmp_path / "d.png", baseline="Qwen/Qwen2.5-0.5B-Instruct",
                           finetuned="Qwen/Qwen2.5-0.5B-Instruct [difficulty=3]")
    assert written[-1] == tmp_path / "d_delta.png"
    with pytest.raises(PlotError, match="is not among the loaded models"):
        plot_results([a, b], tmp_path / "e.png", baseline="Qwen/Qwen2.5-0.5B-Instruct", finetuned="nope")


def test_all_chart_kinds_render_at_their_size(table, tmp_path):
    # what a reader gets, for each kind and metric: a valid PNG of the declared size
    for metric in ("accuracy", "parse-failure"):
        m = get_metric(metric)
        for name, fig in (("t", plot_task(table, "leg_counting", tmp_path / f"t_{metric}.png", metric=m)),
                          ("s", plot_summary(table, tmp_path / f"s_{metric}.png", metric=m)),
                          ("h", plot_heatmap(table, tmp_path / f"h_{metric}.png", metric=m)),
                          ("d", plot_delta(table, BASE, FT, tmp_path / f"d_{metric}.png", metric=m))):
            assert_png(tmp_path / f"{name}_{metric}.png", fig)
