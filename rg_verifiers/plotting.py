"""Charts for benchmark results: per-task bars, multi-task summary, heatmap, fine-tuning delta.

Figures are built on `matplotlib.figure.Figure` with an explicit Agg canvas instead of pyplot:
no global backend switch for whoever imports us, nothing to close, safe on headless nodes.
Every figure has a fixed dpi and no tight bbox, so a PNG is exactly figsize * DPI pixels.
"""

from __future__ import annotations

import textwrap

import json
import re
import warnings
from pathlib import Path
from typing import Mapping, Optional, Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from rg_verifiers.errors import RGVError, did_you_mean
from rg_verifiers.results import ResultsTable, diff_interval, load_results, require_task

DPI = 150
FORMATS = ("png", "svg", "pdf")
MAX_WIDTH_IN = 60.0  # Agg refuses images wider than 2**16 px; 60 in * 150 dpi = 9000 px
LABEL_WIDTH = 22  # characters per line before a model label wraps

POSITIVE, NEGATIVE, NEUTRAL = "#2ca02c", "#d62728", "#7f7f7f"


class PlotError(RGVError):
    """Bad plot input (unknown model, unsupported format, bad rename); one-line message."""


# ---------------------------------------------------------------------------------------------
# labels


_CKPT_RE = re.compile(r"^checkpoint[-_]?(\d+)$")


def short_label(model: str) -> str:
    """Readable name for a model id or path.

    `Qwen/Qwen2.5-7B-Instruct` -> `Qwen2.5-7B-Instruct`;
    `experiments/leg_counting_qwen7b/checkpoint-450` -> `leg_counting_qwen7b/ckpt-450`
    (a bare checkpoint number says nothing without the run it belongs to).
    """
    parts = [p for p in model.replace("\\", "/").split("/") if p]
    if not parts:
        return model
    m = _CKPT_RE.match(parts[-1])
    if m and len(parts) >= 2:
        return f"{parts[-2]}/ckpt-{m.group(1)}"
    return parts[-1]


def wrap_label(label: str, width: int = LABEL_WIDTH) -> str:
    """Wrap at `-`, `_`, `/`, `.` boundaries (model ids have no spaces for textwrap to use)."""
    if len(label) <= width:
        return label
    tokens = re.findall(r"[^-_/.]+[-_/.]?|[-_/.]", label)
    lines, cur = [], ""
    for tok in tokens:
        while len(tok) > width:  # a single overlong token is hard-split
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(tok[:width])
            tok = tok[width:]
        if len(cur) + len(tok) > width and cur:
            lines.append(cur)
            cur = ""
        cur += tok
    if cur:
        lines.append(cur)
    return "\n".join(lines)


def display_labels(models: Sequence[str], renames: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Model id -> label on the chart. Renames are used verbatim; other ids are shortened.

    If shortening makes two ids collide (`org1/model`, `org2/model`) they get more path
    components until they differ, so a chart never shows two identical labels.
    """
    renames = dict(renames or {})
    labels: dict[str, str] = {}
    auto = [m for m in models if m not in renames]

    def tail(m: str, n: int) -> str:
        parts = [p for p in m.split("/") if p]
        short = short_label(m)
        return short if n == 0 else "/".join(parts[-(n + 1):]) if len(parts) > n else m

    depth = {m: 0 for m in auto}
    for _ in range(8):
        cand = {m: tail(m, depth[m]) for m in auto}
        clashes = {m for m in auto if list(cand.values()).count(cand[m]) > 1 or cand[m] in renames.values()}
        if not clashes:
            break
        for m in clashes:
            depth[m] += 1
    for m in models:
        labels[m] = renames[m] if m in renames else wrap_label(tail(m, depth[m]))
    return labels


def load_renames(pairs: Sequence[str] = (), rename_file: Optional[str | Path] = None) -> dict[str, str]:
    """Merge `--rename-file` (JSON object) and `--rename OLD=NEW` pairs; pairs win."""
    renames: dict[str, str] = {}
    if rename_file:
        path = Path(rename_file)
        if not path.is_file():
            raise PlotError(f"rename file not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise PlotError(f"rename file {path} is not valid JSON ({e.msg} at line {e.lineno})") from None
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise PlotError(f"rename file {path} must be a JSON object mapping model ids to display names")
        renames.update(data)
    for pair in pairs or ():
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise PlotError(f"--rename expects OLD=NEW, got {pair!r}")
        renames[old.strip()] = new.strip()
    return renames


# ---------------------------------------------------------------------------------------------
# helpers


def _clamp(x: float, lo: float, hi: float) -> float:
    # round to 1/10 inch so pixel sizes are whole numbers at DPI=150
    return round(min(max(x, lo), hi), 1)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _colors(n: int) -> list:
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _format_of(out: Path) -> str:
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise PlotError(f"unsupported output format {out.suffix or '(none)'!r} for {out}; use .png, .svg or .pdf")
    return fmt


def _save(fig: Figure, out: str | Path) -> Path:
    out = Path(out)
    fmt = _format_of(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=fmt, dpi=DPI)
    return out


def _set_ticks(ax, positions, labels, axis: str = "x", slot_in: Optional[float] = None) -> None:
    """Rotate x labels when the longest line would not fit the inches each tick gets."""
    if axis == "y":
        ax.set_yticks(positions)
        ax.set_yticklabels(labels)
        return
    longest = max((len(line) for lab in labels for line in lab.split("\n")), default=0)
    # ~0.075 in per character at the default 10 pt tick font
    rotate = slot_in is not None and longest * 0.075 > 0.9 * slot_in
    ax.set_xticks(positions)
    if rotate:
        ax.set_xticklabels(labels, rotation=35, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticklabels(labels)


def _accuracy_axis(ax, top: float, title: str) -> None:
    """Percent y axis from 0 to `top` (room for the value labels), light grid behind the bars."""
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("Accuracy")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _yerr(results) -> list[list[float]]:
    return [[r.accuracy - r.accuracy_ci95[0] for r in results], [r.accuracy_ci95[1] - r.accuracy for r in results]]


def _labels_for(table: ResultsTable, labels: Optional[Mapping[str, str]]) -> dict[str, str]:
    base = display_labels(table.models)
    base.update(labels or {})
    return base


# ---------------------------------------------------------------------------------------------
# charts


def plot_task(
    table: ResultsTable, task: str, out: str | Path, title: Optional[str] = None, labels: Optional[Mapping[str, str]] = None
) -> Figure:
    """One bar per model with its 95% Wilson interval."""
    require_task(table, task)
    labels = _labels_for(table, labels)
    models = [m for m in table.models if table.get(task, m)]
    results = [table.get(task, m) for m in models]
    fig = _figure(_clamp(1.5 + 0.9 * len(models), 6.0, MAX_WIDTH_IN), 4.8)
    ax = fig.add_subplot()
    x = list(range(len(models)))
    acc = [r.accuracy for r in results]
    ax.bar(x, acc, yerr=_yerr(results), capsize=4, color=_colors(len(models)), width=0.65)
    for xi, r in zip(x, results):
        ax.text(xi, r.accuracy_ci95[1] + 0.02, f"{r.accuracy:.1%}", ha="center", va="bottom", fontsize=8)
    _set_ticks(ax, x, [labels[m] for m in models], slot_in=(fig.get_size_inches()[0] - 1.2) / len(models))
    n = results[0].n_rollouts if len({r.n_rollouts for r in results}) == 1 else None
    subtitle = f"95% Wilson CI, n={n} rollouts" if n else "95% Wilson CI"
    _accuracy_axis(ax, 1.1, title or f"{task} ({subtitle})")
    _save(fig, out)
    return fig


def plot_summary(
    table: ResultsTable, out: str | Path, title: Optional[str] = None, labels: Optional[Mapping[str, str]] = None
) -> Figure:
    """One group per task (one bar per model) plus an Average group over the tasks all models share."""
    labels = _labels_for(table, labels)
    models, tasks = table.models, table.tasks
    common = table.common_tasks()
    avg = table.average(common)
    n_groups = len(tasks) + 1
    width = _clamp(1.5 + n_groups * (0.22 * len(models) + 0.35), 8.0, MAX_WIDTH_IN)
    fig = _figure(width, 5.5)
    ax = fig.add_subplot()
    bar_w = 0.8 / max(len(models), 1)
    show_values = n_groups * len(models) <= 24
    for i, (m, color) in enumerate(zip(models, _colors(len(models)))):
        offset = (i - (len(models) - 1) / 2) * bar_w
        xs = [ti + offset for ti, t in enumerate(tasks) if table.get(t, m)]
        rs = [table.get(t, m) for t in tasks if table.get(t, m)]
        ax.bar(xs, [r.accuracy for r in rs], bar_w, yerr=_yerr(rs), capsize=2, color=color, label=labels[m])
        if common:
            a = avg[m]
            lo, hi = a["accuracy_ci95"]
            xa = len(tasks) + offset
            ax.bar(
                [xa], [a["accuracy"]], bar_w, yerr=[[a["accuracy"] - lo], [hi - a["accuracy"]]],
                capsize=2, color=color, hatch="//", edgecolor="white",
            )
            if show_values:
                ax.text(xa, hi + 0.02, f"{a['accuracy']:.0%}", ha="center", va="bottom", fontsize=7)
        if show_values:
            for x, r in zip(xs, rs):
                ax.text(x, r.accuracy_ci95[1] + 0.02, f"{r.accuracy:.0%}", ha="center", va="bottom", fontsize=7)
    avg_label = f"Average\n({len(common)} tasks)" if common else "Average\n(no common tasks)"
    _set_ticks(ax, list(range(n_groups)), tasks + [avg_label], slot_in=(width - 1.2) / n_groups)
    ax.axvline(len(tasks) - 0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlim(-0.6, n_groups - 0.4)
    _accuracy_axis(ax, 1.12, title or "Accuracy by task (95% Wilson CI)")
    fig.legend(loc="outside upper center", ncol=min(len(models), 4), fontsize=8, frameon=False)
    _save(fig, out)
    return fig


def plot_heatmap(
    table: ResultsTable, out: str | Path, title: Optional[str] = None, labels: Optional[Mapping[str, str]] = None
) -> Figure:
    """Models x tasks accuracy grid, annotated, with an Average column; missing cells are grey."""
    import numpy as np

    labels = _labels_for(table, labels)
    models, tasks = table.models, table.tasks
    avg = table.average(table.common_tasks())
    data = np.full((len(models), len(tasks) + 1), np.nan)
    for i, m in enumerate(models):
        for j, t in enumerate(tasks):
            r = table.get(t, m)
            if r is not None:
                data[i, j] = r.accuracy
        if avg[m]["n_tasks"]:
            data[i, -1] = avg[m]["accuracy"]
    cols = tasks + ["Average"]
    longest_task = max(len(c) for c in cols)
    longest_model = max(len(line) for m in models for line in labels[m].split("\n"))
    title = title or "Accuracy (models x tasks)"
    # wide enough for the title too (it was cut off on narrow grids)
    width = _clamp(max(2.5 + 0.07 * longest_model + 0.55 * len(cols), 1.0 + 0.085 * len(title)), 6.0, MAX_WIDTH_IN)
    height = _clamp(1.2 + 0.06 * longest_task + 0.5 * len(models), 3.5, 30.0)
    column_in = (width - 2.5 - 0.07 * longest_model) / len(cols)  # what each task label gets
    fig = _figure(width, height)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    fontsize = 8 if len(cols) <= 30 else 6
    for i in range(len(models)):
        for j in range(len(cols)):
            v = data[i, j]
            text, color = ("–", "black") if np.isnan(v) else (f"{v:.2f}", "white" if v < 0.6 else "black")
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, color=color)
    _set_ticks(ax, list(range(len(cols))), cols, slot_in=column_in)
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels([labels[m] for m in models])
    ax.axvline(len(tasks) - 0.5, color="white", linewidth=2)
    # fraction/pad are shares of the figure width: keep the colorbar close on 100-task figures
    fig.colorbar(im, ax=ax, label="Accuracy", fraction=min(0.04, 0.5 / width), pad=min(0.02, 0.12 / width))
    fig.suptitle(textwrap.fill(title, max(30, int(width * 10))))  # over the figure: long model labels shift the axes right
    _save(fig, out)
    return fig


def plot_delta(
    table: ResultsTable,
    baseline: str,
    finetuned: str,
    out: str | Path,
    title: Optional[str] = None,
    labels: Optional[Mapping[str, str]] = None,
) -> Figure:
    """Per-task accuracy change finetuned - baseline, green up / red down, plus the average.

    Error bars are Newcombe's hybrid score interval for a difference of two independent
    proportions (built from the two Wilson intervals); it treats the two runs as independent
    samples, which is conservative when both models saw the same questions.
    """
    for m in (baseline, finetuned):
        if m not in table.models:
            raise PlotError(f"no results for model {m!r}{did_you_mean(m, table.models)}")
    labels = _labels_for(table, labels)
    tasks = table.common_tasks([baseline, finetuned])
    if not tasks:
        raise PlotError(f"models {baseline!r} and {finetuned!r} have no task in common")
    rows = []
    for t in tasks:
        b, f = table.get(t, baseline), table.get(t, finetuned)
        lo, hi = diff_interval(b.accuracy, b.accuracy_ci95, f.accuracy, f.accuracy_ci95)
        rows.append((t, f.accuracy - b.accuracy, lo, hi))
    avg = table.average(tasks)
    ab, af = avg[baseline], avg[finetuned]
    lo, hi = diff_interval(ab["accuracy"], ab["accuracy_ci95"], af["accuracy"], af["accuracy_ci95"])
    rows.append((f"Average ({len(tasks)} tasks)", af["accuracy"] - ab["accuracy"], lo, hi))

    fig = _figure(8.0, _clamp(1.6 + 0.32 * len(rows), 3.0, MAX_WIDTH_IN))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    deltas = [d for _, d, _, _ in rows]
    colors = [POSITIVE if d > 0 else NEGATIVE if d < 0 else NEUTRAL for d in deltas]
    xerr = [[d - lo for _, d, lo, _ in rows], [hi - d for _, d, _, hi in rows]]
    bars = ax.barh(ys, deltas, xerr=xerr, color=colors, capsize=3, height=0.65)
    bars[-1].set_hatch("//")
    bars[-1].set_edgecolor("white")
    for y, (_, d, lo, hi) in zip(ys, rows):
        ax.text(hi if d >= 0 else lo, y, f" {d * 100:+.1f} pp ", va="center", ha="left" if d >= 0 else "right",
                fontsize=8)
    _set_ticks(ax, ys, [r[0] for r in rows], axis="y")
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.axhline(len(rows) - 1.5, color="grey", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()  # first task on top, average at the bottom
    span = max(max(abs(lo), abs(hi)) for _, _, lo, hi in rows)
    ax.set_xlim(-span * 1.35 - 0.02, span * 1.35 + 0.02)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" pp"))
    ax.set_xlabel("Accuracy change, percentage points (95% Newcombe CI)")
    b_lab, f_lab = labels[baseline].replace("\n", ""), labels[finetuned].replace("\n", "")
    ax.set_title(title or f"{f_lab} vs {b_lab}")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    _save(fig, out)
    return fig


# ---------------------------------------------------------------------------------------------
# entry point for `rgv plot`


def _suffixed(out: Path, suffix: str) -> Path:
    return out.with_name(f"{out.stem}_{suffix}{out.suffix}")


def _resolve_model(name: str, table: ResultsTable, labels: Mapping[str, str], flag: str) -> str:
    """Accept a model id, its display name (rename) or its short label."""
    if name in table.models:
        return name
    hits = [m for m in table.models if name in (labels[m], labels[m].replace("\n", ""), short_label(m))]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise PlotError(f"{flag} {name!r} matches several models: {', '.join(hits)}; pass the full id")
    raise PlotError(f"{flag} {name!r} is not among the loaded models{did_you_mean(name, table.models)}")


def plot_results(
    paths,
    output: str | Path,
    title: Optional[str] = None,
    renames: Optional[Mapping[str, str]] = None,
    baseline: Optional[str] = None,
    finetuned: Optional[str] = None,
) -> list[Path]:
    """Load results and write every chart that fits them; returns the files written.

    Single task -> `output` (bars). Several tasks -> `output` (summary) and
    `<stem>_heatmap<ext>`. With baseline and finetuned also `<stem>_delta<ext>`.
    """
    out = Path(output)
    if not out.suffix:
        out = out.with_suffix(".png")
    _format_of(out)  # fail before the (possibly slow) loading
    if bool(baseline) != bool(finetuned):
        raise PlotError("--baseline and --finetuned must be given together")
    table = load_results(paths)
    renames = dict(renames or {})
    unknown = [k for k in renames if k not in table.models]
    if unknown:
        warnings.warn(f"--rename: no loaded model named {', '.join(map(repr, unknown))}", stacklevel=2)
    labels = display_labels(table.models, renames)

    written = []
    if table.is_single_task:
        plot_task(table, table.tasks[0], out, title=title, labels=labels)
        written.append(out)
    else:
        plot_summary(table, out, title=title, labels=labels)
        heatmap = _suffixed(out, "heatmap")
        plot_heatmap(table, heatmap, title=title, labels=labels)
        written += [out, heatmap]
    if baseline and finetuned:
        b = _resolve_model(baseline, table, labels, "--baseline")
        f = _resolve_model(finetuned, table, labels, "--finetuned")
        delta = _suffixed(out, "delta")
        plot_delta(table, b, f, delta, title=title, labels=labels)
        written.append(delta)
    return written
