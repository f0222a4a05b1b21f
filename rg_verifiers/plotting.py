"""Charts for benchmark results: per-task bars, multi-task summary, heatmap, fine-tuning delta.

Figures are built on `matplotlib.figure.Figure` with an explicit Agg canvas instead of pyplot:
no global backend switch for whoever imports us, nothing to close, safe on headless nodes.
Every figure has a fixed dpi and no tight bbox, so a PNG is exactly figsize * DPI pixels.

Every chart shows one metric (`--metric`): accuracy (default), pass@k, the parse-failure rate,
the error rate or mean completion tokens, in the same units on bars and heatmap. Rollouts whose
model call failed are errors, not zeros: they are left out of the other metrics and written
next to the bar's n. Colours are Okabe-Ito (then tableau-colorblind10): safe for colour-blind
readers, and the delta chart's sign is also in its labels.
"""

from __future__ import annotations

import re
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from rg_verifiers.errors import RGVError, did_you_mean
from rg_verifiers.results import ModelTaskResult, ResultsTable, diff_interval, load_results, require_task, wilson_interval

DPI = 150
FORMATS = ("png", "svg", "pdf")
MAX_WIDTH_IN = 60.0  # Agg refuses images wider than 2**16 px; 60 in * 150 dpi = 9000 px
LABEL_WIDTH = 22  # characters per line before a model label wraps

# Okabe & Ito (2008), black left out (error bars are black); tableau-colorblind10 beyond seven
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442"]
POSITIVE, NEGATIVE, NEUTRAL = "#0072B2", "#D55E00", "#999999"  # blue up, vermillion down: not red/green
HATCHES = ["", "//", "..", "xx", "\\\\", "oo"]  # more series than colours: the pattern tells them apart


class PlotError(RGVError):
    """Bad plot input (unknown model, unsupported format, bad rename); one-line message."""


# ---------------------------------------------------------------------------------------------
# metrics


@dataclass(frozen=True)
class Metric:
    name: str  # as given to --metric
    title: str  # axis label
    rate: bool  # a proportion in [0, 1], drawn in percent
    value: Callable[[ModelTaskResult], Optional[float]]
    ci: Optional[Callable[[ModelTaskResult], Optional[tuple[float, float]]]] = None
    note: str = ""  # what the error bars are, for the subtitle

    def n(self, r: ModelTaskResult) -> int:
        """The rollouts behind the value (errors count for the error rate only)."""
        return r.n_rollouts + r.n_errors if self.name == "error-rate" else r.n_rollouts


def _pf_ci(r: ModelTaskResult):
    return None if r.parse_failure_rate is None else wilson_interval(r.parse_failure_rate * r.n_rollouts, r.n_rollouts)


def _err_ci(r: ModelTaskResult):
    total = r.n_rollouts + r.n_errors
    return wilson_interval(r.n_errors, total) if total else None


METRIC_NAMES = ("accuracy", "pass@k", "parse-failure", "error-rate", "tokens")
_ALIASES = {"acc": "accuracy", "parse_failure": "parse-failure", "parse-failure-rate": "parse-failure",
            "parse_failure_rate": "parse-failure", "errors": "error-rate", "error_rate": "error-rate",
            "mean-tokens": "tokens", "mean_tokens": "tokens", "completion-tokens": "tokens"}


def get_metric(name: str, table: Optional[ResultsTable] = None) -> Metric:
    """`accuracy`, `pass@k` (largest k every result has) or `pass@N`, `parse-failure`, `error-rate`, `tokens`."""
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key == "accuracy":
        return Metric("accuracy", "Accuracy", True, lambda r: r.accuracy, lambda r: r.accuracy_ci95, "95% Wilson CI")
    if key == "parse-failure":
        return Metric("parse-failure", "Parse-failure rate", True, lambda r: r.parse_failure_rate, _pf_ci, "95% Wilson CI")
    if key == "error-rate":
        return Metric("error-rate", "Model-call error rate", True, lambda r: r.error_rate if r.n_rollouts + r.n_errors else None,
                      _err_ci, "95% Wilson CI")
    if key == "tokens":
        return Metric("tokens", "Mean completion tokens", False, lambda r: r.mean_completion_tokens, None, "no CI")
    m = re.fullmatch(r"pass@(k|\d+)", key)
    if m:
        if m.group(1) == "k":
            if table is None:
                raise PlotError("--metric pass@k needs results to choose k from")
            scored = [r for per in table.results.values() for r in per.values() if r.scored]
            common = set.intersection(*(set(r.pass_at_k) for r in scored)) if scored else set()
            if not common:
                have = sorted({k for r in scored for k in r.pass_at_k if k > 1})
                if not have:
                    raise PlotError("--metric pass@k: no run has several rollouts per item (pass@k needs rgv bench -r / "
                                    "vf-eval -r greater than 1)")
                raise PlotError(f"--metric pass@k: no k is shared by every run (some have k = {', '.join(map(str, have))}); "
                                f"pass --metric pass@N, or plot only the runs with several rollouts")
            k = max(common)
        else:
            k = int(m.group(1))
            if k < 1:
                raise PlotError(f"--metric pass@{k}: k must be >= 1")
        return Metric(f"pass@{k}", f"pass@{k}", True, lambda r, k=k: r.pass_at_k.get(k), None, "unbiased estimator, no CI")
    raise PlotError(f"unknown --metric {name!r}{did_you_mean(key, METRIC_NAMES)} (choose from {', '.join(METRIC_NAMES)}, pass@N)")


ACCURACY = get_metric("accuracy")


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


def display_labels(models: Sequence[str], renames: Optional[Mapping[str, str]] = None,
                   series: Optional[Mapping[str, tuple[str, str]]] = None) -> dict[str, str]:
    """Series label -> label on the chart. Renames are used verbatim; other ids are shortened.

    If shortening makes two ids collide (`org1/model`, `org2/model`) they get more path
    components until they differ, so a chart never shows two identical labels. A series that
    had to be told apart from another run of its model (`series`: label -> (model, suffix))
    keeps its suffix on a line of its own under the (renamed or shortened) model name.
    """
    renames = dict(renames or {})
    series = dict(series or {})
    model_of = {m: series.get(m, (m, ""))[0] for m in models}
    suffix_of = {m: series.get(m, (m, ""))[1] for m in models}
    ids = list(dict.fromkeys(model_of[m] for m in models if m not in renames))
    auto = [m for m in ids if m not in renames]

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
    labels: dict[str, str] = {}
    for m in models:
        if m in renames:  # the full series label renamed
            labels[m] = renames[m]
            continue
        base = model_of[m]
        name = renames[base] if base in renames else wrap_label(tail(base, depth.get(base, 0)))
        suffix = suffix_of[m]
        labels[m] = f"{name}\n" + textwrap.fill(f"[{suffix}]", LABEL_WIDTH + 4) if suffix else name
    return labels


def read_rename_file(path: str | Path) -> dict[str, str]:
    """`{model id: display name}` from a JSON object or a YAML mapping; keys and values kept as written."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise PlotError(f"rename file not found: {path}")
    try:
        # BaseLoader: `Qwen2.5: 7B` or `on: yes` stay strings instead of turning into numbers and booleans;
        # JSON is YAML, so one loader reads both formats
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise PlotError(f"rename file {path} is neither JSON nor YAML{at}: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and k and v.strip()
                                             for k, v in data.items()):
        raise PlotError(f"rename file {path} must map model ids to display names (a JSON object or YAML mapping "
                        f"of strings, e.g. Qwen/Qwen2.5-7B-Instruct: Qwen 7B)")
    return {k.strip(): v.strip() for k, v in data.items()}


def load_renames(pairs: Sequence[str] = (), rename_file: Optional[str | Path] = None) -> dict[str, str]:
    """Merge `--rename-file` (JSON object or YAML mapping) and `--rename OLD=NEW` pairs; pairs win."""
    renames = read_rename_file(rename_file) if rename_file else {}
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
    if n <= len(OKABE_ITO):
        return OKABE_ITO[:n]
    cmap = matplotlib.colormaps["tab10"]
    base = list(matplotlib.style.library["tableau-colorblind10"]["axes.prop_cycle"].by_key()["color"]) \
        if "tableau-colorblind10" in matplotlib.style.library else [cmap(i) for i in range(10)]
    return [base[i % len(base)] for i in range(n)]


def _hatch(i: int, n: int) -> str:
    # beyond ten series the colours repeat; the hatch of each repeat differs
    return HATCHES[(i // 10) % len(HATCHES)] if n > 10 else ""


def _format_of(out: Path) -> str:
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise PlotError(f"unsupported output format {out.suffix or '(none)'!r} for {out}; use .png, .svg or .pdf")
    return fmt


def _save(fig: Figure, out: str | Path) -> Path:
    out = Path(out)
    fmt = _format_of(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format=fmt, dpi=DPI)
    except OSError as e:
        raise PlotError(f"cannot write {out}: {e.strerror or e}") from None
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


def _fmt_value(metric: Metric, v: float, decimals: int = 1) -> str:
    return f"{100 * v:.{decimals}f}%" if metric.rate else f"{v:.0f}"


def _titles(fig: Figure, ax, title: str, note: str) -> None:
    """The title over the figure and, under it, what the bars and intervals are: a custom
    --title replaces the first line only, never the note."""
    fig.suptitle(title, fontsize=11)
    if note:
        ax.set_title(note, fontsize=8, color="#444444")


def _value_axis(ax, metric: Metric, top: float) -> None:
    """Metric y axis from 0 to `top` (room for the value labels), light grid behind the bars."""
    ax.set_ylim(0, top)
    if metric.rate:
        # the headroom above 100% holds value labels; a 120% tick would read as a value
        ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(metric.title)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _top(metric: Metric, results: Sequence[ModelTaskResult], head: float) -> float:
    if metric.rate:
        return 1.0 + head
    vals = [metric.value(r) for r in results if metric.value(r) is not None]
    return max(vals, default=1.0) * (1.0 + head) or 1.0


def _err(metric: Metric, results: Sequence[ModelTaskResult]):
    if metric.ci is None:
        return None
    lo, hi = [], []
    for r in results:
        v, ci = metric.value(r), metric.ci(r)
        lo.append(0.0 if ci is None else max(v - ci[0], 0.0))
        hi.append(0.0 if ci is None else max(ci[1] - v, 0.0))
    return [lo, hi]


def _upper(metric: Metric, r: ModelTaskResult) -> float:
    ci = metric.ci(r) if metric.ci else None
    return ci[1] if ci else metric.value(r)


def _n_text(metric: Metric, r: ModelTaskResult) -> str:
    text = f"n={metric.n(r)}"
    if r.n_errors and metric.name != "error-rate":
        text += f" (+{r.n_errors} err)"
    return text


def _one_line(label: str) -> str:
    """A chart label on one line: wrapped id parts join up again, a `[suffix]` line after a space."""
    return re.sub(r"\n(?=\[)", " ", label).replace("\n", "")


def _n_range(metric: Metric, results: Sequence[ModelTaskResult]) -> str:
    ns = sorted({metric.n(r) for r in results if metric.value(r) is not None})
    if not ns:
        return ""
    return f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}–{ns[-1]}"


def _mark_zeros(ax, xs, values, width: float, colors) -> None:
    """A bar of height 0 is invisible: a thick line in its colour on the axis says it is there."""
    for x, v, c in zip(xs, values, colors):
        if v == 0:
            ax.hlines(0, x - width / 2, x + width / 2, colors=[c], linewidth=4, zorder=3, clip_on=False)


def _labels_for(table: ResultsTable, labels: Optional[Mapping[str, str]]) -> dict[str, str]:
    base = display_labels(table.models, series=table.series)
    base.update(labels or {})
    return base


def _average(metric: Metric, results: Sequence[ModelTaskResult]) -> Optional[tuple[float, Optional[tuple[float, float]], int]]:
    """Macro average over tasks of the metric, its interval (pooled n, as results.average_over_tasks) and n."""
    vals = [(metric.value(r), metric.n(r)) for r in results if metric.value(r) is not None]
    if not vals:
        return None
    mean = sum(v for v, _ in vals) / len(vals)
    n = sum(k for _, k in vals)
    ci = wilson_interval(mean * n, n) if metric.ci is not None and metric.rate else None
    return mean, ci, n


def categories_of(tasks: Sequence[str]) -> dict[str, str]:
    """reasoning-gym category of each task ("other" for names that are not reasoning-gym tasks)."""
    from rg_verifiers.tasks import task_info, task_names

    known = set(task_names())
    return {t: task_info(t).category if t in known else "other" for t in tasks}


SORTS = ("input", "name", "value", "category")


def order_tasks(table: ResultsTable, metric: Metric = ACCURACY, sort: str = "input",
                by_category: bool = False) -> tuple[list[str], dict[str, str]]:
    """Tasks in chart order, and their categories when grouped (else {}).

    `sort`: input (as loaded), name, value (highest mean over the series first), category
    (same as by_category with names sorted inside).
    """
    if sort not in SORTS:
        raise PlotError(f"unknown --sort {sort!r}{did_you_mean(sort, SORTS)} (choose from {', '.join(SORTS)})")
    tasks = list(table.tasks)
    if sort == "category":
        by_category, sort = True, "name"
    if sort == "name":
        tasks.sort()
    elif sort == "value":
        def mean_value(t):
            vals = [metric.value(r) for r in table.results[t].values() if metric.value(r) is not None]
            return sum(vals) / len(vals) if vals else float("-inf")

        tasks.sort(key=mean_value, reverse=True)
    if not by_category:
        return tasks, {}
    cats = categories_of(tasks)
    order = {c: i for i, c in enumerate(dict.fromkeys(sorted(cats.values())))}
    tasks.sort(key=lambda t: order[cats[t]])  # stable: the order above holds inside a category
    return tasks, cats


def _category_spans(tasks: Sequence[str], cats: Mapping[str, str]) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    for i, t in enumerate(tasks):
        if spans and spans[-1][0] == cats[t]:
            spans[-1] = (cats[t], spans[-1][1], i)
        else:
            spans.append((cats[t], i, i))
    return spans


def _draw_categories(ax, tasks: Sequence[str], cats: Mapping[str, str], color: str = "grey") -> None:
    """Category names over their tasks (a top axis) and a line between categories."""
    if not cats:
        return
    spans = _category_spans(tasks, cats)
    top = ax.secondary_xaxis("top")
    top.set_xticks([(a + b) / 2 for _, a, b in spans])
    top.set_xticklabels([c.replace("_", " ") for c, _, _ in spans], fontsize=8, style="italic")
    top.tick_params(length=0)
    for _, a, _ in spans[1:]:
        ax.axvline(a - 0.5, color=color, linestyle=":", linewidth=0.9)


# ---------------------------------------------------------------------------------------------
# charts


def _bar_note(metric: Metric, results: Sequence[ModelTaskResult], per_bar: bool) -> str:
    note = f"{metric.title}, {metric.note}" if metric.note else metric.title
    if per_bar:
        return f"{note}; n = scored rollouts per bar"
    note = f"{note}; {_n_range(metric, results)} rollouts per bar"
    errors = sum(r.n_errors for r in results)
    if errors and metric.name != "error-rate":  # per bar they are in the labels; here only the total fits
        note += f"; {errors} failed model calls left out"
    return note


def plot_task(
    table: ResultsTable, task: str, out: str | Path, title: Optional[str] = None, labels: Optional[Mapping[str, str]] = None,
    metric: Metric = ACCURACY,
) -> Figure:
    """One bar per series with its interval, its value and its n."""
    require_task(table, task)
    labels = _labels_for(table, labels)
    models = [m for m in table.models if table.get(task, m)]
    results = [table.get(task, m) for m in models]
    fig = _figure(_clamp(1.5 + 1.0 * len(models), 6.0, MAX_WIDTH_IN), 4.8)
    ax = fig.add_subplot()
    top = _top(metric, results, 0.18)
    drawn = [(xi, r) for xi, r in enumerate(results) if metric.value(r) is not None]
    colors = _colors(len(models))
    if drawn:
        xs, rs = zip(*drawn)
        bars = ax.bar(xs, [metric.value(r) for r in rs], yerr=_err(metric, rs), capsize=4,
                      color=[colors[x] for x in xs], edgecolor="#333333", linewidth=0.6, width=0.65)
        for bar, x in zip(bars, xs):
            bar.set_hatch(_hatch(x, len(models)))
        _mark_zeros(ax, xs, [metric.value(r) for r in rs], 0.65, [colors[x] for x in xs])
        for x, r in drawn:
            ax.text(x, _upper(metric, r) + 0.015 * top, f"{_fmt_value(metric, metric.value(r))}\n{_n_text(metric, r)}",
                    ha="center", va="bottom", fontsize=8)
    for x, r in enumerate(results):
        if metric.value(r) is None:  # every call failed, or the metric was not recorded
            text = f"no answers\n({r.n_errors} errors)" if not r.scored and r.n_errors else "not recorded"
            ax.text(x, 0.02 * top, text, ha="center", va="bottom", fontsize=8, color="#444444")
    ax.set_xlim(-0.6, len(models) - 0.4)
    _set_ticks(ax, list(range(len(models))), [labels[m] for m in models], slot_in=(fig.get_size_inches()[0] - 1.2) / len(models))
    _value_axis(ax, metric, top)
    _titles(fig, ax, title or task, _bar_note(metric, results, per_bar=True))
    _save(fig, out)
    return fig


def plot_summary(
    table: ResultsTable, out: str | Path, title: Optional[str] = None, labels: Optional[Mapping[str, str]] = None,
    metric: Metric = ACCURACY, tasks: Optional[Sequence[str]] = None, categories: Optional[Mapping[str, str]] = None,
) -> Figure:
    """One group per task (one bar per series) plus an Average group over the tasks all series share.

    The Average group is drawn only when at least two tasks are shared (one would repeat a bar).
    """
    labels = _labels_for(table, labels)
    models = table.models
    tasks = list(tasks or table.tasks)
    common = [t for t in tasks if all(table.get(t, m) is not None and metric.value(table.get(t, m)) is not None for m in models)]
    with_avg = len(common) >= 2
    n_groups = len(tasks) + with_avg
    width = _clamp(1.5 + n_groups * (0.22 * len(models) + 0.35), 8.0, MAX_WIDTH_IN)
    fig = _figure(width, 5.8)
    ax = fig.add_subplot()
    bar_w = 0.8 / max(len(models), 1)
    show_values = n_groups * len(models) <= 24
    everything = [r for t in tasks for r in table.results[t].values()]
    top = _top(metric, everything, 0.32 if show_values else 0.12)
    handles = []  # proxies: a series with no bar at all (every call failed) still gets its key
    for i, (m, color) in enumerate(zip(models, _colors(len(models)))):
        offset = (i - (len(models) - 1) / 2) * bar_w
        placed = [(ti + offset, table.get(t, m)) for ti, t in enumerate(tasks) if table.get(t, m) is not None]
        drawn = [(x, r) for x, r in placed if metric.value(r) is not None]
        style = dict(facecolor=color, edgecolor="#333333", linewidth=0.5, hatch=_hatch(i, len(models)))
        handles.append(Patch(label=labels[m], **style))
        if drawn:
            xs, rs = zip(*drawn)
            ax.bar(xs, [metric.value(r) for r in rs], bar_w, yerr=_err(metric, rs), capsize=2, **style)
            _mark_zeros(ax, xs, [metric.value(r) for r in rs], bar_w, [color] * len(xs))
        for x, r in placed:
            if metric.value(r) is None:
                ax.text(x, 0.01 * top, f"no answers ({r.n_errors} err)" if r.n_errors and not r.scored else "not recorded", rotation=90,
                        ha="center", va="bottom", fontsize=6, color="#444444")
            elif show_values:
                ax.text(x, _upper(metric, r) + 0.01 * top, f"{_fmt_value(metric, metric.value(r), 0)}  {_n_text(metric, r)}",
                        rotation=90, ha="center", va="bottom", fontsize=6.5)
        if with_avg:
            a = _average(metric, [table.get(t, m) for t in common])
            mean, ci, n = a
            xa = len(tasks) + offset
            yerr = [[mean - ci[0]], [ci[1] - mean]] if ci else None
            ax.bar([xa], [mean], bar_w, yerr=yerr, capsize=2, color=color, hatch="//", edgecolor="white", linewidth=0.5)
            _mark_zeros(ax, [xa], [mean], bar_w, [color])
            if show_values:
                ax.text(xa, (ci[1] if ci else mean) + 0.01 * top, f"{_fmt_value(metric, mean, 0)}  n={n}", rotation=90,
                        ha="center", va="bottom", fontsize=6.5)
    ticks = list(tasks) + ([f"Average\n({len(common)} tasks)"] if with_avg else [])
    _set_ticks(ax, list(range(n_groups)), ticks, slot_in=(width - 1.2) / n_groups)
    if with_avg:
        ax.axvline(len(tasks) - 0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlim(-0.6, n_groups - 0.4)
    _draw_categories(ax, tasks, categories or {})
    _value_axis(ax, metric, top)
    note = _bar_note(metric, everything, per_bar=show_values)
    if with_avg and metric.ci is not None and metric.rate:
        note += "; Average: macro mean, Wilson CI on pooled n"
    _titles(fig, ax, title or f"{metric.title} by task", note)
    # under the axes: over them it would collide with the title
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(models), 4), fontsize=8, frameon=False)
    _save(fig, out)
    return fig


def plot_heatmap(
    table: ResultsTable, out: str | Path, title: Optional[str] = None, labels: Optional[Mapping[str, str]] = None,
    metric: Metric = ACCURACY, tasks: Optional[Sequence[str]] = None, categories: Optional[Mapping[str, str]] = None,
) -> Figure:
    """Series x tasks grid of the metric (the bars' units), annotated, with an Average column
    when at least two tasks are shared; missing cells are grey, all-error cells say so."""
    import numpy as np

    labels = _labels_for(table, labels)
    models = table.models
    tasks = list(tasks or table.tasks)
    common = [t for t in tasks if all(table.get(t, m) is not None and metric.value(table.get(t, m)) is not None for m in models)]
    with_avg = len(common) >= 2
    cols = tasks + (["Average"] if with_avg else [])
    data = np.full((len(models), len(cols)), np.nan)
    notes: dict[tuple[int, int], str] = {}
    for i, m in enumerate(models):
        for j, t in enumerate(tasks):
            r = table.get(t, m)
            if r is None:
                continue
            v = metric.value(r)
            if v is None:
                notes[(i, j)] = f"{r.n_errors} errors" if r.n_errors and not r.scored else "not recorded"
            else:
                data[i, j] = v
        if with_avg:
            data[i, -1] = _average(metric, [table.get(t, m) for t in common])[0]
    vmax = 1.0 if metric.rate else max(float(np.nanmax(data)) if not np.all(np.isnan(data)) else 1.0, 1.0)
    longest_task = max(len(c) for c in cols)
    longest_model = max(len(line) for m in models for line in labels[m].split("\n"))
    title = title or f"{metric.title} (models × tasks)"
    cells = [r for t in tasks for r in table.results[t].values()]
    note = f"cells: {metric.title.lower()}, {_n_range(metric, cells)} rollouts each" + (
        f"; Average: mean over the {len(common)} tasks every model has" if with_avg else "") + (
        "; – = not run" if any(table.get(t, m) is None for t in tasks for m in models) else "")
    # wide enough for the title and the note too (they were cut off on narrow grids)
    width = _clamp(max(2.5 + 0.07 * longest_model + 0.55 * len(cols), 1.0 + 0.085 * len(title), 1.0 + 0.06 * len(note)),
                   6.0, MAX_WIDTH_IN)
    height = _clamp(1.5 + 0.06 * longest_task + 0.5 * len(models) + (0.3 if categories else 0), 3.5, 30.0)
    column_in = (width - 2.5 - 0.07 * longest_model) / len(cols)  # what each task label gets
    fig = _figure(width, height)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto")
    fontsize = 8 if len(cols) <= 30 else 6
    for i in range(len(models)):
        for j in range(len(cols)):
            v = data[i, j]
            if np.isnan(v):
                text, color = notes.get((i, j), "–"), "black"
            else:
                text = _fmt_value(metric, v, 0)
                color = "white" if v < 0.6 * vmax else "black"  # viridis is dark below ~60%
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, color=color)
    _set_ticks(ax, list(range(len(cols))), cols, slot_in=column_in)
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels([labels[m] for m in models])
    if with_avg:
        ax.axvline(len(tasks) - 0.5, color="white", linewidth=2)
    _draw_categories(ax, tasks, categories or {}, color="white")
    # fraction/pad are shares of the figure width: keep the colorbar close on 100-task figures
    cbar = fig.colorbar(im, ax=ax, label=metric.title, fraction=min(0.04, 0.5 / width), pad=min(0.02, 0.12 / width))
    if metric.rate:
        cbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    fig.suptitle(textwrap.fill(title, max(30, int(width * 10))), fontsize=11)  # over the figure: long labels shift the axes
    ax.set_title(note, fontsize=8, color="#444444", pad=18 if categories else 6)
    _save(fig, out)
    return fig


def plot_delta(
    table: ResultsTable,
    baseline: str,
    finetuned: str,
    out: str | Path,
    title: Optional[str] = None,
    labels: Optional[Mapping[str, str]] = None,
    metric: Metric = ACCURACY,
    tasks: Optional[Sequence[str]] = None,
) -> Figure:
    """Per-task change finetuned - baseline (blue up, vermillion down, signed labels), plus the average.

    Error bars are Newcombe's hybrid score interval for a difference of two independent
    proportions (built from the two Wilson intervals); it treats the two runs as independent
    samples, which is conservative when both models saw the same questions. Metrics without an
    interval (pass@k, tokens) get none.
    """
    for m in (baseline, finetuned):
        if m not in table.models:
            raise PlotError(f"no results for model {m!r}{did_you_mean(m, table.models)}")
    labels = _labels_for(table, labels)
    order = list(tasks or table.tasks)

    def has(t, m):
        r = table.get(t, m)
        return r is not None and metric.value(r) is not None

    tasks = [t for t in order if has(t, baseline) and has(t, finetuned)]
    if not tasks:
        what = "" if metric.name == "accuracy" else f" where both have a {metric.name} value"
        raise PlotError(f"models {baseline!r} and {finetuned!r} have no task in common{what}")
    with_ci = metric.ci is not None
    rows = []
    for t in tasks:
        b, f = table.get(t, baseline), table.get(t, finetuned)
        vb, vf = metric.value(b), metric.value(f)
        lo, hi = diff_interval(vb, metric.ci(b), vf, metric.ci(f)) if with_ci else (vf - vb, vf - vb)
        rows.append((t, vf - vb, lo, hi))
    if len(tasks) >= 2:
        ab = _average(metric, [table.get(t, baseline) for t in tasks])
        af = _average(metric, [table.get(t, finetuned) for t in tasks])
        d = af[0] - ab[0]
        lo, hi = diff_interval(ab[0], ab[1], af[0], af[1]) if with_ci and ab[1] and af[1] else (d, d)
        rows.append((f"Average ({len(tasks)} tasks)", d, lo, hi))

    fig = _figure(8.0, _clamp(1.8 + 0.32 * len(rows), 2.4, MAX_WIDTH_IN))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    deltas = [d for _, d, _, _ in rows]
    colors = [POSITIVE if d > 0 else NEGATIVE if d < 0 else NEUTRAL for d in deltas]
    xerr = [[d - lo for _, d, lo, _ in rows], [hi - d for _, d, _, hi in rows]] if with_ci else None
    bars = ax.barh(ys, deltas, xerr=xerr, color=colors, capsize=3, height=0.65)
    averaged = len(tasks) >= 2
    if averaged:
        bars[-1].set_hatch("//")
        bars[-1].set_edgecolor("white")
    unit = " pp" if metric.rate else " tokens"
    scale = 100.0 if metric.rate else 1.0
    for y, (_, d, lo, hi) in zip(ys, rows):
        ax.text(hi if d >= 0 else lo, y, f" {d * scale:+.1f}{unit} ", va="center", ha="left" if d >= 0 else "right",
                fontsize=8)
    _set_ticks(ax, ys, [r[0] for r in rows], axis="y")
    if averaged:
        ax.get_yticklabels()[-1].set_fontweight("bold")
        ax.axhline(len(rows) - 1.5, color="grey", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()  # first task on top, average at the bottom
    span = max(max(abs(lo), abs(hi)) for _, _, lo, hi in rows) or (0.05 if metric.rate else 1.0)
    ax.set_xlim(-span * 1.45 - 0.02 * (1 if metric.rate else span), span * 1.45 + 0.02 * (1 if metric.rate else span))
    if metric.rate:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" pp"))
    what = "percentage points" if metric.rate else "tokens"
    ax.set_xlabel(f"{metric.title} change, {what}" + (" (95% Newcombe CI)" if with_ci else ""))
    b_lab, f_lab = _one_line(labels[baseline]), _one_line(labels[finetuned])
    fig.suptitle(title or f"{f_lab} vs {b_lab}", fontsize=11)
    used = [table.get(t, m) for t in tasks for m in (baseline, finetuned)]
    ax.set_title(f"{metric.title} change per task" + (", 95% Newcombe CI" if with_ci else ", no CI") +
                 f"; {_n_range(metric, used)} rollouts per model and task", fontsize=8, color="#444444")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    _save(fig, out)
    return fig


# ---------------------------------------------------------------------------------------------
# entry point for `rgv plot`


def _suffixed(out: Path, suffix: str) -> Path:
    return out.with_name(f"{out.stem}_{suffix}{out.suffix}")


def _resolve_model(name: str, table: ResultsTable, labels: Mapping[str, str], flag: str) -> str:
    """Accept a series label, a model id (when it has one series), its display name or its short label."""
    if name in table.models:
        return name
    hits = [m for m in table.models
            if name in (labels[m], _one_line(labels[m]), labels[m].replace("\n", ""), short_label(m))
            or (table.series_model(m) == name)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise PlotError(f"{flag} {name!r} matches several series: {'; '.join(hits)}; pass one of these labels")
    raise PlotError(f"{flag} {name!r} is not among the loaded models{did_you_mean(name, table.models)}")


def plot_results(
    paths,
    output: str | Path,
    title: Optional[str] = None,
    renames: Optional[Mapping[str, str]] = None,
    baseline: Optional[str] = None,
    finetuned: Optional[str] = None,
    metric: str = "accuracy",
    sort: str = "input",
    by_category: bool = False,
    latest: bool = False,
    check_only: bool = False,
) -> list[Path]:
    """Load results (or take a loaded ResultsTable) and write every chart that fits them.

    Single task -> `output` (bars). Several tasks -> `output` (summary) and
    `<stem>_heatmap<ext>`. With baseline and finetuned also `<stem>_delta<ext>`.
    `check_only`: only check the options (so a typo fails before a slow load).
    """
    out = Path(output)
    if not out.suffix:
        out = out.with_suffix(".png")
    _format_of(out)  # fail before the (possibly slow) loading
    if bool(baseline) != bool(finetuned):
        raise PlotError("--baseline and --finetuned must be given together")
    if sort not in SORTS:
        raise PlotError(f"unknown --sort {sort!r}{did_you_mean(sort, SORTS)} (choose from {', '.join(SORTS)})")
    if not metric.strip().lower().startswith("pass@"):
        get_metric(metric)  # a typo fails before loading too
    elif metric.strip().lower() != "pass@k" and not re.fullmatch(r"pass@\d+", metric.strip().lower()):
        get_metric(metric)
    if check_only:
        return []
    table = paths if isinstance(paths, ResultsTable) else load_results(paths, latest=latest)
    chosen = get_metric(metric, table)
    renames = dict(renames or {})
    known = set(table.models) | {table.series_model(m) for m in table.models}
    unknown = [k for k in renames if k not in known]
    if unknown:
        warnings.warn(f"--rename: no loaded model named {', '.join(map(repr, unknown))}", stacklevel=2)
    labels = display_labels(table.models, renames, table.series)
    tasks, cats = order_tasks(table, chosen, sort, by_category)

    written = []
    if table.is_single_task:
        plot_task(table, table.tasks[0], out, title=title, labels=labels, metric=chosen)
        written.append(out)
    else:
        plot_summary(table, out, title=title, labels=labels, metric=chosen, tasks=tasks, categories=cats)
        heatmap = _suffixed(out, "heatmap")
        plot_heatmap(table, heatmap, title=title, labels=labels, metric=chosen, tasks=tasks, categories=cats)
        written += [out, heatmap]
    if baseline and finetuned:
        b = _resolve_model(baseline, table, labels, "--baseline")
        f = _resolve_model(finetuned, table, labels, "--finetuned")
        delta = _suffixed(out, "delta")
        plot_delta(table, b, f, delta, title=title, labels=labels, metric=chosen, tasks=tasks)
        written.append(delta)
    return written
