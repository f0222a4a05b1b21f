"""Training curves (rg_verifiers/curves.py, `rgv curves`) from synthetic run folders: no model, fast."""

import json
import logging
import math
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from PIL import Image

from rg_verifiers.curves import (
    CURVES_FILE,
    CurvesError,
    CurvesNote,
    curves_figure,
    draw_curves,
    load_run,
    try_write_training_curves,
    unique_labels,
    write_training_curves,
)
from rg_verifiers.errors import RGVError
from rg_verifiers.plotting import DPI, OKABE_ITO

RGV = str(Path(sys.executable).parent / "rgv")

CONFIG = """model:
  name_or_path: embedded
tasks:
- name: leg_counting
  weight: 1.0
rewards:
- name: correctness
  weight: 1.0
- name: brevity
  weight: 0.1
"""


def write_metrics(folder: Path, records, tail: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "metrics.jsonl").open("a") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
        f.write(tail)


def write_eval(folder: Path, step, accuracy, parse_failure, n=20, stage=None, name=None) -> None:
    (folder / "eval_results").mkdir(parents=True, exist_ok=True)
    rec = {"step": step, "accuracy": accuracy, "parse_failure_rate": parse_failure, "n": n,
           "per_task": {"leg_counting": {"n": n, "accuracy": accuracy, "parse_failure_rate": parse_failure}},
           "samples": [{"task": "leg_counting", "completion": "<answer>4</answer>", "score": 1.0}]}
    if stage:
        rec["stage"] = stage
    (folder / "eval_results" / f"{name or f'eval_step_{step}'}.json").write_text(json.dumps(rec, indent=1))


def trl_line(step, reward=None):
    reward = 0.1 + 0.05 * step if reward is None else reward
    return {"step": step, "time": 1.0e9 + step, "loss": 0.1, "learning_rate": 1e-5, "reward": reward, "reward_std": 0.05,
            "rewards/correctness/mean": reward * 0.8, "rewards/correctness/std": 0.3,
            "rewards/brevity/mean": 0.9 - 0.01 * step, "rewards/brevity/std": 0.02,
            "frac_reward_zero_std": max(0.0, 0.8 - 0.1 * step), "parse_failure": 0.5, "task_reward/leg_counting": reward,
            "completions/mean_length": 50.0, "peak_memory_mb": 4000.0}


def trl_run(folder: Path, steps=10, evals=(0, 5, 10)) -> Path:
    write_metrics(folder, [trl_line(s) for s in range(1, steps + 1)]
                  + [{"step": steps, "time": 2e9, "train_runtime": 12.0, "train_loss": 0.2, "peak_memory_mb": 4000.0}])
    for s in evals:
        write_eval(folder, s, 0.05 * s, max(0.0, 0.5 - 0.05 * s))
    (folder / "config.yaml").write_text(CONFIG)
    return folder


def vf_run(folder: Path, steps=6) -> Path:
    """RLTrainer's own names only (reward/std, reward/<name>): what a verifiers-backend log holds without
    the TRL-named copies."""
    write_metrics(folder, [{"step": s, "time": 1e9, "reward": 0.2 + 0.02 * s, "reward/std": 0.1,
                            "reward/correctness": 0.1 * s / steps, "reward/distinct_chars": 0.5,
                            "tokens/completion": 40.0, "importance_ratio": 1.0, "entropy": 2.0, "mismatch_kl": 0.0,
                            "rollout_error_rate": 0.0} for s in range(1, steps + 1)])
    write_eval(folder, 0, 0.1, 0.3)
    write_eval(folder, steps, 0.2, 0.1)
    return folder


def titles(fig):
    return [ax.get_title(loc="left") for ax in fig.axes]


def assert_png(path: Path, fig=None):
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.size[0] >= 700 and img.size[1] >= 400
        if fig is not None:
            w, h = fig.get_size_inches()
            assert img.size == (round(w * DPI), round(h * DPI))
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # lines, text and bands, not a blank canvas
    assert path.stat().st_size > 20_000


# --- reading ---------------------------------------------------------------------------------


def test_trl_run_panels_and_png(tmp_path):
    run = trl_run(tmp_path / "run")
    fig = curves_figure([run])
    t = titles(fig)
    assert any(x.startswith("Training reward (band: ±1 std of the step's rollouts") for x in t)
    assert any(x.startswith("Reward components") for x in t)
    assert any(x.startswith("Eval accuracy (greedy, n = 20") for x in t)
    assert any(x.startswith("Eval parse failures") for x in t)
    assert any(x.startswith("Prompts whose rollouts all scored alike") for x in t)
    assert not any("Curriculum" in x or "warm-up" in x for x in t)  # no data: no panel, not an empty one
    assert fig.curves_panels == t
    # the config's weights name the components; integer steps on every step axis
    comp = fig.axes[t.index(next(x for x in t if x.startswith("Reward components")))]
    assert [h.get_text() for h in comp.get_legend().get_texts()] == ["correctness (×1)", "brevity (×0.1)"]
    for ax in fig.axes:
        assert all(float(x).is_integer() for x in ax.get_xticks())
        assert ax.get_xlabel() == "GRPO step"
    acc = fig.axes[t.index(next(x for x in t if x.startswith("Eval accuracy")))]
    assert acc.get_ylim()[1] == pytest.approx(1.04)  # rates as proportions drawn in percent, as plotting.py
    assert "%" in acc.yaxis.get_major_formatter()(0.5, 0)
    assert "embedded, leg_counting" in fig.curves_heading == fig._suptitle.get_text()

    out = write_training_curves(run, strict=True)
    assert out == run / CURVES_FILE
    assert_png(out, fig)


def test_grpo_keys_keep_steps_and_skip_summary_line(tmp_path):
    r = load_run(trl_run(tmp_path / "run"))
    assert r.points("reward")[0] == list(range(1, 11))
    assert r.points("train_loss") == ([10], [0.2])  # the closing summary line does not clobber step 10's reward
    assert r.points("reward")[1][-1] == pytest.approx(0.6)
    assert r.components() == {"correctness": "rewards/correctness/mean", "brevity": "rewards/brevity/mean"}
    assert {(e.stage, e.step) for e in r.evals} == {("baseline", 0), ("grpo", 5), ("grpo", 10)}


def test_verifiers_backend_native_names(tmp_path):
    run = vf_run(tmp_path / "vf")
    r = load_run(run)
    assert r.std_key() == "reward/std"
    assert r.components() == {"correctness": "reward/correctness", "distinct_chars": "reward/distinct_chars"}
    t = titles(curves_figure([run]))
    assert any(x.startswith("Training reward (band") for x in t) and any(x.startswith("Reward components") for x in t)
    assert not any(x.startswith("Prompts whose") for x in t)


def test_verifiers_backend_prefers_trl_names(tmp_path):
    line = {"step": 1, "reward": 0.5, "reward_std": 0.1, "reward/std": 0.2, "rewards/correctness/mean": 0.4,
            "reward/correctness": 0.4, "rewards/brevity/mean": 0.9, "reward/brevity": 0.9, "frac_reward_zero_std": 0.25}
    write_metrics(tmp_path / "vf", [line, {**line, "step": 2}])
    r = load_run(tmp_path / "vf")
    assert r.std_key() == "reward_std"
    assert set(r.components().values()) == {"rewards/correctness/mean", "rewards/brevity/mean"}


def test_single_component_equal_to_reward_is_not_repeated(tmp_path):
    write_metrics(tmp_path / "r", [{"step": s, "reward": 0.1 * s, "rewards/correctness/mean": 0.1 * s} for s in (1, 2, 3)])
    assert not any(x.startswith("Reward components") for x in titles(curves_figure([tmp_path / "r"])))


def test_warmup_records(tmp_path):
    run = tmp_path / "warm"
    write_metrics(run, [{"step": s, "stage": "warmup", "warmup/loss": 2.0 / s, "warmup/learning_rate": 1e-3}
                        for s in range(1, 9)])
    write_metrics(run, [trl_line(s) for s in range(1, 7)])  # GRPO steps 1..6 collide with warm-up steps
    write_eval(run, 0, 0.0, 0.9, stage="baseline")
    write_eval(run, 8, 0.3, 0.1, stage="warmup", name="eval_warmup")
    write_eval(run, 3, 0.35, 0.05, stage="grpo")
    write_eval(run, 6, 0.4, 0.0, stage="grpo")
    r = load_run(run)
    assert r.points("loss", "warmup")[0] == list(range(1, 9))
    assert r.points("reward")[0] == list(range(1, 7))  # warm-up lines are not GRPO steps
    assert r.points("loss")[1] == [0.1] * 6
    assert [e.stage for e in sorted(r.evals, key=lambda e: (e.step, e.stage))] == ["baseline", "grpo", "grpo", "warmup"]

    fig = curves_figure([run])
    t = titles(fig)
    assert "Supervised warm-up loss (before GRPO)" in t
    warm_ax = fig.axes[t.index("Supervised warm-up loss (before GRPO)")]
    assert warm_ax.get_xlabel() == "Warm-up step"
    acc = fig.axes[t.index(next(x for x in t if x.startswith("Eval accuracy")))]
    legend = [h.get_text() for h in acc.get_legend().get_texts()]
    assert legend == ["GRPO evals", "baseline (before warm-up)", "after warm-up"]
    assert any(a.get_text() == "after warm-up" for a in acc.texts)
    # the GRPO eval curve starts at the after-warm-up point (x = 0), not at the baseline
    curve = next(line for line in acc.get_lines() if line.get_marker() == "o" and len(line.get_xdata()) > 1)
    assert list(curve.get_xdata()) == [0, 3, 6] and list(curve.get_ydata()) == pytest.approx([0.3, 0.35, 0.4])
    assert_png(draw_curves([run], None, tmp_path / "warm.png"), fig)


def test_eval_files_without_stage(tmp_path):
    run = tmp_path / "old"
    write_eval(run, 0, 0.1, 0.5)
    write_eval(run, 4, 0.2, 0.4)
    write_eval(run, 8, 0.3, 0.3, name="eval_warmup")  # stage from the file name
    assert {(e.stage, e.step) for e in load_run(run).evals} == {("baseline", 0), ("grpo", 4), ("warmup", 8)}


def test_curriculum_levels(tmp_path):
    run = tmp_path / "cur"
    write_metrics(run, [{**trl_line(s), "curriculum/leg_counting/level": s // 3, "curriculum/gcd/level": min(s // 4, 1)}
                        for s in range(1, 13)])
    fig = curves_figure([run])
    t = titles(fig)
    assert "Curriculum level per task" in t
    ax = fig.axes[t.index("Curriculum level per task")]
    assert [h.get_text() for h in ax.get_legend().get_texts()] == ["leg_counting", "gcd"]
    assert all(float(y).is_integer() for y in ax.get_yticks())
    assert ax.get_ylabel() == "Difficulty level"
    assert all(line.get_drawstyle() == "steps-post" for line in ax.get_lines())


def test_reasoning_vocabulary_share(tmp_path):
    run = tmp_path / "rv"
    write_metrics(run, [{**trl_line(s), "reasoning_vocab/share": 0.1 * s} for s in range(1, 4)])
    fig = curves_figure([run])
    t = [x for x in titles(fig) if x.startswith("Sampled tokens from the reasoning vocabulary")]
    assert len(t) == 1
    ax = fig.axes[titles(fig).index(t[0])]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == pytest.approx([0.1, 0.2, 0.3])  # axis in %
    plain = tmp_path / "plain"
    write_metrics(plain, [trl_line(s) for s in range(1, 4)])
    assert not any(x.startswith("Sampled tokens") for x in titles(curves_figure([plain])))


def test_truncated_last_line_is_skipped(tmp_path):
    run = tmp_path / "cut"
    write_metrics(run, [trl_line(s) for s in (1, 2, 3)], tail='{"step": 4, "reward": 0.')
    with pytest.warns(CurvesNote, match="last line"):
        r = load_run(run)
    assert r.points("reward")[0] == [1, 2, 3]
    # a half-written multi-byte character is no crash either
    (run / "metrics.jsonl").write_bytes((run / "metrics.jsonl").read_bytes() + b'\n{"step": 5, "x": "\xe2\x82')
    with pytest.warns(CurvesNote):
        assert load_run(run).points("reward")[0] == [1, 2, 3]


def test_resumed_run_keeps_last_value_per_step(tmp_path):
    run = tmp_path / "resumed"
    write_metrics(run, [trl_line(s, reward=0.1) for s in range(1, 7)])
    write_metrics(run, [trl_line(s, reward=0.9) for s in range(5, 11)])  # resumed from checkpoint-4
    steps, values = load_run(run).points("reward")
    assert steps == list(range(1, 11))
    assert values == [0.1] * 4 + [0.9] * 6


def test_nan_values_are_left_out(tmp_path):
    run = tmp_path / "nan"
    write_metrics(run, [trl_line(1), {**trl_line(2), "reward": float("nan"), "reward_std": float("inf")}, trl_line(3)])
    (run / "eval_results").mkdir()
    (run / "eval_results" / "eval_step_0.json").write_text('{"step": 0, "accuracy": NaN, "parse_failure_rate": 0.5, "n": 4}')
    r = load_run(run)
    assert r.points("reward")[0] == [1, 3]
    fig = curves_figure([run])
    t = titles(fig)
    assert not any(x.startswith("Eval accuracy") for x in t)  # its only value is NaN
    assert any(x.startswith("Eval parse failures") for x in t)
    for ax in fig.axes:
        for line in ax.get_lines():
            assert not any(isinstance(y, float) and math.isnan(y) for y in line.get_ydata())


def test_single_step_note(tmp_path):
    run = tmp_path / "one"
    write_metrics(run, [trl_line(1)])
    fig = curves_figure([run])
    assert "only one GRPO step logged (step 1)" in fig.curves_heading
    assert "only one" not in curves_figure([trl_run(tmp_path / "many")])._suptitle.get_text()


def test_bad_eval_file_is_skipped(tmp_path):
    run = trl_run(tmp_path / "run")
    (run / "eval_results" / "eval_step_7.json").write_text('{"step": 7, "accur')
    with pytest.warns(CurvesNote, match="eval_step_7.json"):
        r = load_run(run)
    assert sorted(e.step for e in r.evals) == [0, 5, 10]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make,expected", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "has no metrics.jsonl and no eval_results/eval_*.json"),
    (lambda p: (p / "f").write_text("x") and p / "f", "is a file, not a training output folder"),
    (lambda p: write_metrics(p / "blank", [], tail="") or p / "blank", "nothing to draw"),
])
def test_missing_data_is_one_line_error(tmp_path, make, expected):
    folder = make(tmp_path)
    with pytest.raises(CurvesError) as e:
        curves_figure([folder])
    assert expected in str(e.value) and str(folder) in str(e.value) and "\n" not in str(e.value)


def test_only_nan_is_an_error_not_an_empty_chart(tmp_path):
    write_metrics(tmp_path / "r", [{"step": 1, "reward": float("nan")}])
    with pytest.raises(CurvesError, match="nothing to draw"):
        curves_figure([tmp_path / "r"])


def test_label_count_must_match(tmp_path):
    a, b = trl_run(tmp_path / "a"), trl_run(tmp_path / "b")
    with pytest.raises(CurvesError, match="1 label"):
        curves_figure([a, b], ["only one"])


def test_training_wrapper_never_raises(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="rg_verifiers.curves"):
        assert write_training_curves(tmp_path / "missing") is None
        assert try_write_training_curves(tmp_path / "missing") is None
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all(line.startswith("training curves not drawn: run folder") for line in lines)
    with pytest.raises(CurvesError):
        write_training_curves(tmp_path / "missing", strict=True)


def test_training_wrapper_logs_notes_as_one_line(tmp_path, caplog):
    run = tmp_path / "cut"
    write_metrics(run, [trl_line(s) for s in (1, 2)], tail='{"step": 3')
    with caplog.at_level(logging.WARNING, logger="rg_verifiers.curves"), warnings.catch_warnings():
        warnings.simplefilter("error")  # no Python warning escapes into the training log
        assert write_training_curves(run) == run / CURVES_FILE
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == \
        [f"training curves: {run / 'metrics.jsonl'}: skipped its last line (truncated)"]


def test_training_wrapper_is_cheap(tmp_path):
    run = tmp_path / "long"
    write_metrics(run, [{**trl_line(s), "curriculum/leg_counting/level": s // 100} for s in range(1, 1001)])
    for s in range(0, 1001, 50):
        write_eval(run, s, min(1.0, s / 1000), max(0.0, 0.5 - s / 1000))
    write_training_curves(run, strict=True)  # imports matplotlib: not what a second call costs
    start = time.perf_counter()
    assert write_training_curves(run, strict=True) == run / CURVES_FILE
    assert time.perf_counter() - start < 4.0  # ~1 s alone; 2 shared cores leave some slack


# --- several runs ----------------------------------------------------------------------------


def test_several_runs_overlaid(tmp_path):
    base, variant = trl_run(tmp_path / "base"), trl_run(tmp_path / "variant", steps=8, evals=(0, 4, 8))
    write_metrics(variant, [{"step": s, "stage": "warmup", "warmup/loss": 1.0 / s} for s in (1, 2, 3)])
    write_eval(variant, 3, 0.2, 0.1, stage="warmup", name="eval_warmup")
    fig = curves_figure([base, variant], ["GRPO", "warm-up + GRPO"], title="Baseline vs warm-up")
    t = titles(fig)
    assert "Supervised warm-up loss (before GRPO)" in t  # a panel one of the runs has
    assert fig.curves_heading == "Baseline vs warm-up"
    assert [x.get_text() for x in fig.legends[0].get_texts()] == ["GRPO", "warm-up + GRPO"]
    assert fig.legends[0].get_title().get_text() == "Baseline vs warm-up"
    reward = fig.axes[t.index(next(x for x in t if x.startswith("Training reward")))]
    assert [line.get_color() for line in reward.get_lines()] == OKABE_ITO[:2]  # one colour per run
    comp = fig.axes[t.index(next(x for x in t if x.startswith("Reward components")))]
    assert {line.get_linestyle() for line in comp.get_lines()} == {"-", "--"}  # the component by line style
    out = draw_curves([base, variant], ["GRPO", "warm-up + GRPO"], tmp_path / "compare.png")
    assert_png(out)


def test_unique_labels(tmp_path):
    assert unique_labels([tmp_path / "a" / "run", tmp_path / "b" / "run", tmp_path / "c"]) == ["a/run", "b/run", "c"]


def test_svg_and_bad_format(tmp_path):
    run = trl_run(tmp_path / "run")
    assert draw_curves([run], None, tmp_path / "c.svg").read_text().startswith("<?xml")
    with pytest.raises(RGVError, match="unsupported output format '.gif'"):
        draw_curves([run], None, tmp_path / "c.gif")


# --- CLI -------------------------------------------------------------------------------------


def rgv(*args, cwd=None):
    return subprocess.run([RGV, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_one_run_default_output(tmp_path):
    run = trl_run(tmp_path / "run")
    out = rgv("curves", str(run))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"wrote {run / CURVES_FILE}"
    assert_png(run / CURVES_FILE)


def test_cli_several_runs_labels_title(tmp_path):
    a, b = trl_run(tmp_path / "a"), vf_run(tmp_path / "b")
    write_metrics(b, [], tail='{"step": 7, "rew')
    out = rgv("curves", str(a), str(b), "--label", "TRL", "verifiers", "-o", str(tmp_path / "cmp.png"), "--title", "T")
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == f"warning: {b / 'metrics.jsonl'}: skipped its last line (truncated)"
    assert_png(tmp_path / "cmp.png")
    # the repeated form of --label, and the default name for several runs
    out = rgv("curves", str(a), str(b), "--label", "TRL", "--label", "verifiers", cwd=tmp_path)
    assert out.returncode == 0 and (tmp_path / CURVES_FILE).is_file(), out.stderr


@pytest.mark.parametrize("args,expected", [
    (["{tmp}/missing"], "run folder {tmp}/missing does not exist"),
    (["{tmp}/empty"], "has no metrics.jsonl"),
    (["{tmp}/run", "--label", "a", "b"], "2 label(s) for 1 run folder(s)"),
    (["{tmp}/run", "-o", "{tmp}/x.gif"], "unsupported output format"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, args, expected):
    trl_run(tmp_path / "run")
    (tmp_path / "empty").mkdir()
    out = rgv("curves", *[a.format(tmp=tmp_path) for a in args])
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected.format(tmp=tmp_path) in lines[0], out.stderr


def test_reward_band_clipped_to_the_rewards_range(tmp_path):
    run = tmp_path / "binary"
    write_metrics(run, [{"step": s, "reward": 0.8, "reward_std": 0.4, "rewards/correctness/mean": 0.8} for s in (1, 2, 3)])
    (run / "config.yaml").write_text("rewards:\n- name: correctness\n  weight: 1.0\n")
    fig = curves_figure([run])
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Training reward (band: ±1 std of the step's rollouts, clipped to 0–1)"
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(1.0) and band[:, 1].min() == pytest.approx(0.4)
    # a custom reward has no known range: no clipping
    (run / "config.yaml").write_text("rewards:\n- name: my_reward\n  weight: 1.0\n")
    ax = curves_figure([run]).axes[0]
    assert "clipped" not in ax.get_title(loc="left")
    assert ax.collections[0].get_paths()[0].vertices[:, 1].max() == pytest.approx(1.2)
