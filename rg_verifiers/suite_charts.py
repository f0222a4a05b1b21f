"""Charts that put your runs beside the reasoning-gym paper's: category radar, overall bar, and
per-task dots by category (the radar and overall bar as reasoning-gym's visualize_results.py draws
them, from the same per-task scores).

Series whose label starts with `paper: ` are the published runs (thin, grey-ish); the others are
yours (bold, coloured). Accuracy throughout; a category's value is the mean over its tasks the
series has, the overall value the macro mean over the tasks every series has.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Mapping, Optional, Sequence

from .plotting import OKABE_ITO, _colors, _figure, _save
from .results import ResultsTable, average_over_tasks
from .suites.paper import PREFIX

PAPER_COLORS = ["#7f7f7f", "#a6a6a6", "#595959", "#bfbfbf", "#8c8c8c", "#6b6b6b", "#b3b3b3", "#999999", "#737373", "#cccccc"]


def is_paper(label: str) -> bool:
    return label.startswith(PREFIX)


def _styles(table: ResultsTable) -> dict[str, dict]:
    mine = [m for m in table.models if not is_paper(m)]
    paper = [m for m in table.models if is_paper(m)]
    out = {m: dict(color=c, linewidth=2.4, zorder=5, alpha=1.0) for m, c in zip(mine, _colors(len(mine)) or OKABE_ITO)}
    for i, m in enumerate(paper):
        out[m] = dict(color=PAPER_COLORS[i % len(PAPER_COLORS)], linewidth=0.9, zorder=2, alpha=0.8, linestyle="--")
    return out


def _name(label: str, labels: Optional[Mapping[str, str]]) -> str:
    return (labels or {}).get(label, label)


def _axes(fig, notes: Sequence[str], height: float, **kwargs):
    """The chart's axes over a strip holding the caveats (laid out by constrained layout, so the
    notes never cover the chart)."""
    lines = [line for n in notes for line in textwrap.wrap(n, _wrap(fig))]
    if not lines:
        return fig.add_subplot(**kwargs)
    note_h = 0.13 * len(lines) + 0.1
    gs = fig.add_gridspec(2, 1, height_ratios=[height, note_h])
    ax = fig.add_subplot(gs[0], **kwargs)
    strip = fig.add_subplot(gs[1])
    strip.axis("off")
    from matplotlib.transforms import blended_transform_factory

    # from the figure's left edge, not the axes': the task labels leave the axes narrower than the page
    strip.text(0.01, 1.0, "\n".join(lines), fontsize=6.5, color="#444444", va="top", ha="left",
               transform=blended_transform_factory(fig.transFigure, strip.transAxes))
    return ax


def _wrap(fig) -> int:
    return int(fig.get_figwidth() * 17)  # characters of 6.5 pt text per line across the figure


def _notes_h(notes: Sequence[str], width: float = 9.0) -> float:
    return sum(0.13 * len(textwrap.wrap(n, int(width * 17))) for n in notes) + (0.1 if notes else 0.0)


def category_scores(table: ResultsTable, categories: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """{series: {category: mean accuracy over the category's tasks the series has}}."""
    cats = list(dict.fromkeys(categories[t] for t in table.tasks if t in categories))
    out: dict[str, dict[str, float]] = {}
    for m in table.models:
        row = {}
        for c in cats:
            vals = [table.get(t, m).accuracy for t in table.tasks
                    if categories.get(t) == c and table.get(t, m) is not None and table.get(t, m).accuracy is not None]
            if vals:
                row[c] = sum(vals) / len(vals)
        out[m] = row
    return out


def plot_radar(table: ResultsTable, categories: Mapping[str, str], out: str | Path, title: Optional[str] = None,
               labels: Optional[Mapping[str, str]] = None, notes: Sequence[str] = ()) -> Path:
    import numpy as np

    scores = category_scores(table, categories)
    cats = list(dict.fromkeys(categories[t] for t in table.tasks if t in categories))
    fig = _figure(10, 9 + _notes_h(notes, 10))
    ax = _axes(fig, notes, 9, projection="polar")
    angles = np.linspace(0, 2 * np.pi, len(cats), endpoint=False).tolist()
    styles = _styles(table)
    for m in table.models:
        vals = [scores[m].get(c, 0.0) for c in cats]
        ax.plot(angles + angles[:1], vals + vals[:1], label=_name(m, labels), **styles[m])
        if not is_paper(m):
            ax.fill(angles + angles[:1], vals + vals[:1], color=styles[m]["color"], alpha=0.12)
    ax.set_xticks(angles)
    ax.set_xticklabels(cats, fontsize=9)
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(["25%", "50%", "75%", "100%"], fontsize=7)
    fig.suptitle(title or "Accuracy by category (mean over each category's tasks)", fontsize=11)
    fig.legend(loc="outside right upper", fontsize=7, frameon=False)
    return _save(fig, out)


def overall_scores(table: ResultsTable) -> tuple[list[str], dict[str, dict]]:
    common = table.common_tasks()
    return common, {m: average_over_tasks(table.get(t, m) for t in common) for m in table.models}


def plot_overall(table: ResultsTable, out: str | Path, title: Optional[str] = None,
                 labels: Optional[Mapping[str, str]] = None, notes: Sequence[str] = ()) -> Path:
    common, avgs = overall_scores(table)
    order = sorted((m for m in table.models if avgs[m]["accuracy"] is not None), key=lambda m: avgs[m]["accuracy"])
    styles = _styles(table)
    height = 1.4 + 0.32 * len(order)
    fig = _figure(9, height + _notes_h(notes))
    ax = _axes(fig, notes, height)
    for y, m in enumerate(order):
        a = avgs[m]
        lo, hi = a["accuracy_ci95"]
        # a Wilson bound can sit a rounding error inside the mean (at 0 or 1)
        ax.barh([y], [a["accuracy"]], xerr=[[max(a["accuracy"] - lo, 0.0)], [max(hi - a["accuracy"], 0.0)]], capsize=2,
                color=styles[m]["color"], edgecolor="#333333" if not is_paper(m) else "none", linewidth=0.8)
        ax.text(min(hi + 0.01, 0.9), y, f"{100 * a['accuracy']:.1f}%", va="center", fontsize=7,
                bbox=dict(facecolor="white", alpha=0.8, pad=0.6, edgecolor="none"))
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([_name(m, labels) for m in order], fontsize=8)
    for tick, m in zip(ax.get_yticklabels(), order):
        tick.set_fontweight("normal" if is_paper(m) else "bold")
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_pct())
    fig.suptitle(title or f"Overall accuracy: macro mean over the {len(common)} tasks every series has", fontsize=11)
    ax.set_title("bars: mean of per-task accuracy; whiskers: Wilson 95% CI on the pooled n", fontsize=8, color="#444444")
    return _save(fig, out)


def plot_task_dots(table: ResultsTable, categories: Mapping[str, str], out: str | Path, title: Optional[str] = None,
                   labels: Optional[Mapping[str, str]] = None, notes: Sequence[str] = (),
                   only: Optional[str] = None) -> Path:
    """Per task a row: the paper's runs as grey dots, yours as coloured markers with their CI;
    grouped by category (only one category with `only`)."""
    cats = list(dict.fromkeys(categories.get(t, "other") for t in table.tasks))
    if only is not None:
        cats = [only]
    groups = [(c, [t for t in table.tasks if categories.get(t, "other") == c]) for c in cats]
    rows = sum(len(ts) + 1 for _, ts in groups)
    styles = _styles(table)
    height = 1.2 + 0.2 * rows
    fig = _figure(9, height + _notes_h(notes))
    ax = _axes(fig, notes, height)
    y, ticks, names, seen = 0, [], [], set()
    for c, ts in groups:
        ax.text(-0.01, y, c, fontsize=8.5, fontweight="bold", ha="right", va="center", transform=ax.get_yaxis_transform())
        y += 1
        for t in ts:
            for m in table.models:
                r = table.get(t, m)
                if r is None or r.accuracy is None:
                    continue
                label = None if m in seen else _name(m, labels)
                seen.add(m)
                if is_paper(m):
                    ax.plot([r.accuracy], [y], "o", ms=3.5, color=styles[m]["color"], alpha=0.7, label=label, zorder=2)
                else:
                    lo, hi = r.accuracy_ci95 or (r.accuracy, r.accuracy)
                    ax.errorbar([r.accuracy], [y], xerr=[[max(r.accuracy - lo, 0.0)], [max(hi - r.accuracy, 0.0)]], fmt="D", ms=5,
                                color=styles[m]["color"], capsize=2, label=label, zorder=5)
            ticks.append(y)
            names.append(t)
            y += 1
    ax.set_yticks(ticks)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_ylim(y, -1)
    ax.set_xlim(-0.02, 1.02)
    ax.xaxis.set_major_formatter(_pct())
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    fig.suptitle(title or "Accuracy per task", fontsize=11)
    ax.set_title("grey dots: the paper's runs; diamonds: yours with Wilson 95% CI", fontsize=8, color="#444444")
    fig.legend(loc="outside right upper", fontsize=7, frameon=False)
    return _save(fig, out)


def _pct():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def reference_charts(table: ResultsTable, categories: Mapping[str, str], out: Path, notes: Sequence[str] = (),
                     labels: Optional[Mapping[str, str]] = None) -> list[Path]:
    """`rgv plot --reference`: overall bar at `out`, `<stem>_radar` (three categories or more: a radar
    of two axes is a line), `<stem>_by_task`."""
    out = Path(out)
    written = [plot_overall(table, out, labels=labels, notes=notes)]
    if len({categories.get(t, "other") for t in table.tasks}) >= 3:
        written.append(plot_radar(table, categories, out.with_name(f"{out.stem}_radar{out.suffix}"), labels=labels, notes=notes))
    written.append(plot_task_dots(table, categories, out.with_name(f"{out.stem}_by_task{out.suffix}"), labels=labels, notes=notes))
    return written
