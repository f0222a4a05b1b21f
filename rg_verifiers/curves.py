"""Training curves of a GRPO run as one PNG: `<output_dir>/training_curves.png`, or several runs overlaid.

Reads what every run writes into its output_dir (both backends, same key names):
- `metrics.jsonl`: one JSON object per log line, `{"step", "time", ...}`: `reward`, `reward_std`,
  `rewards/<name>/mean` (the verifiers backend also has RLTrainer's `reward/std`, `reward/<name>`,
  used only when the TRL names are absent), `frac_reward_zero_std`, `curriculum/<task>/level`;
  supervised warm-up lines have `"stage": "warmup"` and `warmup/<key>` keys (their own step count);
- `eval_results/eval_step_<N>.json` and `eval_results/eval_warmup.json` (`accuracy`,
  `parse_failure_rate`, `n`, optional `stage`: baseline | warmup | grpo).

Panels, each drawn only when some run has its data: training reward (mean, band of ±1 std over the
step's rollouts), reward components (unweighted means, with the config's weights), eval accuracy and
eval parse-failure rate (95% Wilson intervals; the baseline as a dotted reference line, the point
after the warm-up as a star), prompts whose rollouts all got the same reward (no GRPO signal),
curriculum level per task, warm-up loss. Rates are proportions drawn in percent (0–100%), as in
plotting.py; colours are its Okabe-Ito palette.

Robust to a truncated last line (any unreadable line is skipped), resumed runs (a step logged
twice keeps its last value), NaN values (left out) and a missing half (only eval files, or only
metrics). `write_training_curves(output_dir)` is what training calls at the end of a run: it never
raises (one warning line instead) unless `strict=True`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from rg_verifiers.errors import RGVError

log = logging.getLogger(__name__)

CURVES_FILE = "training_curves.png"
METRICS_FILE = "metrics.jsonl"
EVAL_DIR = "eval_results"
STAGES = ("baseline", "warmup", "grpo")
_SKIP_KEYS = {"step", "time", "stage", "epoch"}
_LINE_STYLES = ["-", "--", ":", "-."]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
BOUNDED_REWARDS = {"correctness", "format", "answer_tag", "brevity", "reference_mention", "think"}  # rewards.py: each in [0, 1]
MAX_MARKERS = 40  # points per series above which lines carry no markers
PANEL_W, PANEL_H = 5.0, 3.1  # inches per panel


class CurvesError(RGVError):
    """A run folder with nothing to draw, or bad chart options; one-line message."""


class CurvesNote(UserWarning):
    """Something skipped while reading a run (an unreadable line or file); drawing goes on."""


# ---------------------------------------------------------------------------------------------
# reading a run


@dataclass
class EvalPoint:
    stage: str  # baseline | warmup | grpo
    step: int
    accuracy: Optional[float]
    parse_failure_rate: Optional[float]
    n: int


@dataclass
class Run:
    folder: Path
    label: str
    series: dict[str, dict[int, float]] = field(default_factory=dict)  # GRPO-stage key -> {step: value}
    warmup: dict[str, dict[int, float]] = field(default_factory=dict)  # warm-up key (no prefix) -> {step: value}
    evals: list[EvalPoint] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)  # reward name -> weight, from config.yaml
    has_metrics: bool = False
    about: str = ""  # "model, task + task" from config.yaml

    def points(self, key: str, source: str = "series") -> tuple[list[int], list[float]]:
        """Sorted (steps, values) of one key, NaN and infinities left out."""
        data = getattr(self, source).get(key, {})
        pairs = sorted((s, v) for s, v in data.items() if math.isfinite(v))
        return [s for s, _ in pairs], [v for _, v in pairs]

    def has(self, key: str, source: str = "series") -> bool:
        return bool(self.points(key, source)[0])

    @property
    def train_steps(self) -> list[int]:
        """The GRPO steps some training metric was logged at (the trainer's closing summary line excluded)."""
        steps = {s for k in self.reward_keys() + ["frac_reward_zero_std"] for s in self.points(k)[0]}
        return sorted(steps)

    def reward_keys(self) -> list[str]:
        return [k for k in ("reward", "reward_std", "reward/std") if k in self.series]

    def std_key(self) -> Optional[str]:
        return "reward_std" if self.has("reward_std") else "reward/std" if self.has("reward/std") else None

    def components(self) -> dict[str, str]:
        """Reward name -> its metrics key: TRL's `rewards/<name>/mean`, else RLTrainer's `reward/<name>`."""
        out = {m.group(1): k for k in self.series if (m := re.fullmatch(r"rewards/(.+)/mean", k)) and self.has(k)}
        if not out:
            out = {k.split("/", 1)[1]: k for k in self.series
                   if k.startswith("reward/") and k != "reward/std" and self.has(k)}
        return out

    def curriculum(self) -> dict[str, str]:
        return {m.group(1): k for k in self.series if (m := re.fullmatch(r"curriculum/(.+)/level", k)) and self.has(k)}

    def reward_bound(self) -> Optional[float]:
        """The highest reward the config's rewards can sum to, when each is a built-in reward in [0, 1]."""
        if not self.weights or not set(self.weights) <= BOUNDED_REWARDS or min(self.weights.values()) <= 0:
            return None
        return sum(self.weights.values())

    def eval_stage(self, stage: str) -> list[EvalPoint]:
        return sorted((e for e in self.evals if e.stage == stage), key=lambda e: e.step)


def _number(v) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _int_step(v) -> Optional[int]:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return int(v)
    return None


def _read_metrics(run: Run, path: Path) -> None:
    """Every readable line of metrics.jsonl; a later line for the same step and key wins (resumed runs)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.splitlines()
    bad = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            bad.append(i)
            continue
        step = _int_step(rec.get("step")) if isinstance(rec, dict) else None
        if step is None:
            bad.append(i)
            continue
        warm_line = rec.get("stage") == "warmup"
        for key, value in rec.items():
            v = _number(value)
            if key in _SKIP_KEYS or v is None:
                continue
            if key.startswith("warmup/"):
                run.warmup.setdefault(key[len("warmup/"):], {})[step] = v
            elif warm_line:
                run.warmup.setdefault(key, {})[step] = v
            else:
                run.series.setdefault(key, {})[step] = v
    run.has_metrics = True
    if bad:
        last = bad == [len(lines)]
        numbers = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        where = "its last line (truncated)" if last else f"{len(bad)} unreadable line(s) ({numbers})"
        warnings.warn(CurvesNote(f"{path}: skipped {where}"), stacklevel=2)


def _eval_stage(name: str, rec: dict, step: int) -> str:
    stage = rec.get("stage")
    if stage in STAGES:
        return stage
    if name == "eval_warmup":
        return "warmup"
    return "baseline" if step == 0 else "grpo"


def _read_evals(run: Run, folder: Path) -> None:
    found: dict[tuple[str, int], EvalPoint] = {}
    for path in sorted(folder.glob("eval_*.json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, json.JSONDecodeError) as e:
            warnings.warn(CurvesNote(f"{path}: skipped, not readable JSON ({getattr(e, 'msg', e)})"), stacklevel=2)
            continue
        if not isinstance(rec, dict):
            warnings.warn(CurvesNote(f"{path}: skipped, not a JSON object"), stacklevel=2)
            continue
        m = re.fullmatch(r"eval_step_(\d+)", path.stem)
        step = _int_step(rec.get("step"))
        if step is None:
            step = int(m.group(1)) if m else 0
        stage = _eval_stage(path.stem, rec, step)
        acc, pf = _number(rec.get("accuracy")), _number(rec.get("parse_failure_rate"))
        n = _int_step(rec.get("n")) or 0
        if acc is None and pf is None:
            warnings.warn(CurvesNote(f"{path}: skipped, no accuracy or parse_failure_rate"), stacklevel=2)
            continue
        found[(stage, 0 if stage == "warmup" else step)] = EvalPoint(stage, step, acc, pf, n)
    run.evals = list(found.values())


def _read_config(run: Run, path: Path) -> None:
    """Reward weights (legend), model and tasks (default title) from the run's config.yaml, if readable."""
    try:
        import yaml

        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(cfg, dict):
            return
        for spec in cfg.get("rewards") or []:
            if isinstance(spec, dict) and "name" in spec:
                run.weights[str(spec["name"])] = float(spec.get("weight", 1.0))
        model = (cfg.get("model") or {}).get("name_or_path")
        tasks = [t["name"] if isinstance(t, dict) else str(t) for t in cfg.get("tasks") or []]
        task_text = " + ".join(tasks[:4]) + (" + ..." if len(tasks) > 4 else "")
        run.about = ", ".join(filter(None, [str(model) if model else "", task_text]))
    except Exception:  # config facts only annotate the chart
        run.weights.clear()


def load_run(folder: str | Path, label: Optional[str] = None) -> Run:
    """Read one training output folder; CurvesError if it is missing or holds nothing to draw."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a training output folder" if folder.exists() else "does not exist"
        raise CurvesError(f"run folder {folder} {what}")
    run = Run(folder=folder, label=label or folder.resolve().name)
    metrics, evals = folder / METRICS_FILE, folder / EVAL_DIR
    try:
        if metrics.is_file():
            _read_metrics(run, metrics)
        if evals.is_dir():
            _read_evals(run, evals)
    except OSError as e:
        raise CurvesError(f"cannot read run folder {folder}: {e.strerror or e}") from None
    if (folder / "config.yaml").is_file():
        _read_config(run, folder / "config.yaml")
    if not metrics.is_file() and not run.evals:
        raise CurvesError(f"{folder} has no {METRICS_FILE} and no {EVAL_DIR}/eval_*.json: not a training output "
                          f"folder, or the run has not logged a step yet")
    if not run.evals and not any(run.has(k) for k in run.series) and not any(run.has(k, "warmup") for k in run.warmup):
        raise CurvesError(f"{folder}: {METRICS_FILE} has no readable step and {EVAL_DIR}/ no eval file: nothing to draw")
    return run


# ---------------------------------------------------------------------------------------------
# drawing


@dataclass
class Panel:
    key: str
    title: str
    ylabel: str
    xlabel: str = "GRPO step"
    rate: bool = False  # a proportion, drawn in percent
    integer_y: bool = False


def _panels(runs: Sequence[Run]) -> list[Panel]:
    def any_run(pred) -> bool:
        return any(pred(r) for r in runs)

    out = []
    if any_run(lambda r: r.has("reward")):
        tops = {r.reward_bound() for r in runs if r.std_key() and r.reward_bound()}
        clipped = f", clipped to 0–{_fmt_num(tops.pop())}" if len(tops) == 1 else ", clipped to each reward's range" if tops else ""
        band = f" (band: ±1 std of the step's rollouts{clipped})" if any_run(lambda r: r.std_key()) else ""
        out.append(Panel("reward", f"Training reward{band}", "Reward (weighted sum, mean)"))
    if any_run(_informative_components):
        out.append(Panel("components", "Reward components (unweighted, mean over rollouts)", "Component reward (mean)"))
    n_text = _n_text(runs)
    if any_run(lambda r: any(e.accuracy is not None and math.isfinite(e.accuracy) for e in r.evals)):
        out.append(Panel("accuracy", f"Eval accuracy (greedy{n_text}; bars: 95% Wilson CI)", "Accuracy (% of eval items)",
                         rate=True))
    if any_run(lambda r: any(e.parse_failure_rate is not None and math.isfinite(e.parse_failure_rate) for e in r.evals)):
        out.append(Panel("parse_failure", f"Eval parse failures (greedy{n_text}; bars: 95% Wilson CI)",
                         "Parse failures (% of eval items)", rate=True))
    if any_run(lambda r: r.has("frac_reward_zero_std")):
        out.append(Panel("zero_std", "Prompts whose rollouts all scored alike (no GRPO signal)", "Share of prompts (%)",
                         rate=True))
    if any_run(lambda r: r.has("reasoning_vocab/share")):
        out.append(Panel("reasoning_share", "Sampled tokens from the reasoning vocabulary (model.reasoning_vocab_size)",
                         "Share of completion tokens (%)", rate=True))
    if any_run(lambda r: r.curriculum()):
        out.append(Panel("curriculum", "Curriculum level per task", "Difficulty level", integer_y=True))
    if any_run(lambda r: r.has("loss", "warmup")):
        out.append(Panel("warmup_loss", "Supervised warm-up loss (before GRPO)", "Cross-entropy loss", xlabel="Warm-up step"))
    return out


def _informative_components(run: Run) -> bool:
    """Components add nothing when the only one is the reward itself (one reward of weight 1)."""
    comps = run.components()
    if len(comps) != 1:
        return bool(comps)
    reward = dict(zip(*run.points("reward")))
    steps, values = run.points(next(iter(comps.values())))
    return any(s not in reward or abs(reward[s] - v) > 1e-9 for s, v in zip(steps, values))


def _n_text(runs: Sequence[Run]) -> str:
    ns = sorted({e.n for r in runs for e in r.evals if e.n})
    if not ns:
        return ""
    return f", n = {ns[0]}" if len(ns) == 1 else f", n = {ns[0]}–{ns[-1]}"


def _marker(n_points: int, marker: str = "o") -> dict:
    return dict(marker=marker, markersize=4) if n_points <= MAX_MARKERS else {}


def _draw_reward(ax, runs, colors) -> list:
    for run, c in zip(runs, colors):
        steps, values = run.points("reward")
        if not steps:
            continue
        ax.plot(steps, values, color=c, linewidth=1.6, **_marker(len(steps)))
        key = run.std_key()
        if key:
            std = run.series[key]
            band = [(s, v, std[s]) for s, v in zip(steps, values) if s in std and math.isfinite(std[s])]
            top = run.reward_bound()
            if top is not None:  # a std band past what the reward can reach would read as values
                band = [(bs, bv, bd, max(bv - bd, 0.0), min(bv + bd, top)) for bs, bv, bd in band]
            else:
                band = [(bs, bv, bd, bv - bd, bv + bd) for bs, bv, bd in band]
            if len(band) == 1:  # a band one step wide is invisible: an error bar instead
                bs, bv, _, lo, hi = band[0]
                ax.errorbar([bs], [bv], yerr=[[bv - lo], [hi - bv]], color=c, capsize=4, elinewidth=6, alpha=0.3,
                            linestyle="none")
            elif band:
                bs, _, _, lo, hi = zip(*band)
                ax.fill_between(bs, lo, hi, color=c, alpha=0.18, linewidth=0)
    return []


def _series_legend(names: Sequence[str], single: bool, series_colors, marked: bool) -> list:
    """Legend handles for the series of a panel: by colour for one run, by line style for several
    (the run colours are in the figure's legend); markers only where the lines have them."""
    from matplotlib.lines import Line2D

    def marker(i):
        return dict(marker=_MARKERS[i % len(_MARKERS)], markersize=4) if marked else {}

    if single:
        return [Line2D([], [], color=series_colors[i], linewidth=1.6, label=name, **marker(i)) for i, name in enumerate(names)]
    return [Line2D([], [], color="#555555", linewidth=1.4, linestyle=_LINE_STYLES[i % len(_LINE_STYLES)], label=name,
                   **marker(i)) for i, name in enumerate(names)]


def _draw_named(ax, runs, colors, named, steps_style: bool = False, label_of=None) -> list:
    """One line per (run, name): `named(run)` is {name: metrics key}."""
    from rg_verifiers.plotting import _colors

    names = list(dict.fromkeys(n for r in runs for n in named(r)))
    single = len(runs) == 1
    series_colors = _colors(len(names))
    marked = False
    for run, c in zip(runs, colors):
        keys = named(run)
        for i, name in enumerate(names):
            if name not in keys:
                continue
            steps, values = run.points(keys[name])
            if not steps:
                continue
            style = dict(color=series_colors[i] if single else c, linewidth=1.6 if single else 1.4,
                         linestyle="-" if single else _LINE_STYLES[i % len(_LINE_STYLES)], zorder=2 + i,
                         **_marker(len(steps), _MARKERS[i % len(_MARKERS)]))
            marked = marked or "marker" in style
            if steps_style:
                style["drawstyle"] = "steps-post"
            ax.plot(steps, values, **style)
    labels = [label_of(n) if label_of else n for n in names]
    if single:  # a series equal to an earlier one at every step hides it: say so
        run, keys = runs[0], named(runs[0])
        pts = [run.points(keys[n]) if n in keys else ([], []) for n in names]
        for i in range(len(names)):
            same = next((j for j in range(i) if pts[j][0] and pts[j][0] == pts[i][0]
                         and all(abs(a - b) <= 1e-9 for a, b in zip(pts[j][1], pts[i][1]))), None)
            if same is not None:
                labels[i] += f", same as {names[same]}"
    return _series_legend(labels, single, series_colors, marked)


def _weight_label(runs: Sequence[Run]):
    def label(name: str) -> str:
        ws = {r.weights[name] for r in runs if name in r.weights}
        return f"{name} (×{_fmt_num(ws.pop())})" if len(ws) == 1 else name
    return label


def _fmt_num(x: float) -> str:
    return f"{x:g}"


def _draw_eval(ax, runs, colors, attr: str) -> list:
    from matplotlib.lines import Line2D

    from rg_verifiers.results import wilson_interval

    def value(e: EvalPoint) -> Optional[float]:
        v = getattr(e, attr)
        return v if v is not None and math.isfinite(v) else None

    single = len(runs) == 1
    kinds, marked = set(), False
    for run, c in zip(runs, colors):
        base = [e for e in run.eval_stage("baseline") if value(e) is not None]
        warm = [e for e in run.eval_stage("warmup") if value(e) is not None]
        grpo = [e for e in run.eval_stage("grpo") if value(e) is not None]
        start = warm[-1:] if warm else base[-1:]
        curve = start + [e for e in grpo if not (start and e.step == 0)]
        xs = [0 if e.stage != "grpo" else e.step for e in curve]
        ys = [value(e) for e in curve]
        if curve:
            err = [[], []]
            for e, y in zip(curve, ys):
                lo, hi = wilson_interval(y * e.n, e.n) if e.n else (y, y)
                err[0].append(max(y - lo, 0.0))
                err[1].append(max(hi - y, 0.0))
            ax.errorbar(xs, ys, yerr=err, color=c, linewidth=1.6, capsize=3, elinewidth=0.9, **_marker(len(xs)),
                        zorder=3)
            if grpo or not warm:  # a lone after-warm-up point is the star, not a curve
                kinds.add("evals")
            marked = marked or len(xs) <= MAX_MARKERS
        if base:
            ax.axhline(value(base[-1]), color=c, linestyle=":", linewidth=1.2, alpha=0.9, zorder=2)
            kinds.add("baseline")
        if warm:
            ax.plot([0], [value(warm[-1])], linestyle="none", marker="*", markersize=13, color=c,
                    markeredgecolor="#222222", markeredgewidth=0.7, zorder=4)
            kinds.add("warmup")
            if single:
                ax.annotate("after warm-up", (0, value(warm[-1])), xytext=(8, 6), textcoords="offset points",
                            fontsize=8, color="#222222")
    legend_color = colors[0] if single else "#555555"
    handles = []
    if "evals" in kinds:
        handles.append(Line2D([], [], color=legend_color, linewidth=1.6, **_marker(1 if marked else MAX_MARKERS + 1),
                              label="GRPO evals" if "warmup" in kinds else "evals"))
    if "baseline" in kinds:
        handles.append(Line2D([], [], color=legend_color, linestyle=":", linewidth=1.2,
                              label="baseline (before warm-up)" if "warmup" in kinds else "baseline (step 0)"))
    if "warmup" in kinds:
        handles.append(Line2D([], [], color=legend_color, linestyle="none", marker="*", markersize=11,
                              markeredgecolor="#222222", markeredgewidth=0.7, label="after warm-up"))
    return handles if len(handles) > 1 else []


def _draw_series(ax, runs, colors, key: str) -> list:
    for run, c in zip(runs, colors):
        steps, values = run.points(key)
        if steps:
            ax.plot(steps, values, color=c, linewidth=1.6, **_marker(len(steps)))
    return []


def _draw_warmup_loss(ax, runs, colors) -> list:
    for run, c in zip(runs, colors):
        steps, values = run.points("loss", "warmup")
        if steps:
            ax.plot(steps, values, color=c, linewidth=1.6, **_marker(len(steps)))
    return []


def _style_axes(ax, panel: Panel, xlim: Optional[tuple[float, float]]) -> None:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    ax.set_title(panel.title, fontsize=9.5, loc="left")
    ax.set_xlabel(panel.xlabel, fontsize=9)
    ax.set_ylabel(panel.ylabel, fontsize=9)
    ax.tick_params(labelsize=8.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    if xlim is not None:
        ax.set_xlim(*xlim)
    if panel.rate:
        ax.set_ylim(-0.04, 1.04)
        ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    if panel.integer_y:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, -0.3), max(hi, 1.3))
    ax.grid(alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _legend_columns(handles) -> int:
    """As many columns (at most 3) as fit under a panel: a legend wider than its panel squeezes the grid."""
    lengths = [len(h.get_label()) for h in handles]
    width = 0.95 * PANEL_W
    # ~0.06 in per character at 8 pt, ~0.5 in for the handle and the spacing of each entry
    for ncol in range(min(len(handles), 3), 1, -1):
        rows = math.ceil(len(lengths) / ncol)  # matplotlib fills a legend column by column
        columns = [max(lengths[i:i + rows]) for i in range(0, len(lengths), rows)]
        if sum(0.06 * n + 0.5 for n in columns) <= width:
            return ncol
    return 1


def _xlim(steps: Sequence[int]) -> Optional[tuple[float, float]]:
    if not steps:
        return None
    lo, hi = min(steps), max(steps)
    pad = max(0.04 * (hi - lo), 0.3)
    return lo - pad, hi + pad


def _grpo_steps(runs: Sequence[Run]) -> list[int]:
    steps = set()
    for r in runs:
        for key in r.series:
            steps.update(r.points(key)[0])
        steps.update(0 if e.stage != "grpo" else e.step for e in r.evals)
    return sorted(steps)


def _notes(runs: Sequence[Run]) -> list[str]:
    notes = []
    for r in runs:
        who = "" if len(runs) == 1 else f"{r.label}: "
        steps = r.train_steps
        if len(steps) == 1:
            notes.append(f"{who}only one GRPO step logged (step {steps[0]}): single points, not trends")
        elif not r.has_metrics:
            notes.append(f"{who}no {METRICS_FILE}: eval results only")
        elif not steps and r.evals:
            notes.append(f"{who}no training step logged yet")
        if not r.evals and r.has_metrics:
            notes.append(f"{who}no {EVAL_DIR}/ files: training metrics only")
    return notes


def unique_labels(folders: Sequence[Path]) -> list[str]:
    """Folder names, with parent folders added until no two runs share a label."""
    parts = [Path(f).resolve().parts for f in folders]
    depth = [1] * len(parts)
    for _ in range(8):
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        clashes = [i for i, lab in enumerate(labels) if labels.count(lab) > 1]
        if not clashes:
            break
        for i in clashes:
            depth[i] += 1
    return ["/".join(p[-d:]) for p, d in zip(parts, depth)]


def curves_figure(run_dirs: Sequence[str | Path], labels: Optional[Sequence[str]] = None, title: Optional[str] = None):
    """The figure (matplotlib Figure) of one run, or of several overlaid: one colour per run."""
    if isinstance(run_dirs, (str, Path)):
        run_dirs = [run_dirs]
    run_dirs = list(run_dirs)
    if not run_dirs:
        raise CurvesError("no run folder given")
    labels = list(labels or [])
    if labels and len(labels) != len(run_dirs):
        raise CurvesError(f"{len(labels)} label(s) for {len(run_dirs)} run folder(s): give one --label per run, "
                          f"in the order of the folders")
    labels = labels or unique_labels([Path(d) for d in run_dirs])
    runs = [load_run(d, lab) for d, lab in zip(run_dirs, labels)]
    return _figure_of(runs, title)


def _figure_of(runs: Sequence[Run], title: Optional[str]):
    from matplotlib.lines import Line2D

    from rg_verifiers.plotting import _colors, _figure

    panels = _panels(runs)
    if not panels:
        raise CurvesError(f"{', '.join(str(r.folder) for r in runs)}: no reward, eval, curriculum or warm-up values "
                          f"to draw (every value missing or NaN)")
    cols = 1 if len(panels) == 1 else 2
    rows = math.ceil(len(panels) / cols)
    single = len(runs) == 1
    colors = _colors(len(runs))
    fig = _figure(PANEL_W * cols + 0.4, PANEL_H * rows + (0.9 if not single else 0.7))
    xlim = _xlim(_grpo_steps(runs))
    drawers = {
        "reward": lambda ax: _draw_reward(ax, runs, colors),
        "components": lambda ax: _draw_named(ax, runs, colors, lambda r: r.components() if _informative_components(r) else {},
                                             label_of=_weight_label(runs)),
        "accuracy": lambda ax: _draw_eval(ax, runs, colors, "accuracy"),
        "parse_failure": lambda ax: _draw_eval(ax, runs, colors, "parse_failure_rate"),
        "zero_std": lambda ax: _draw_series(ax, runs, colors, "frac_reward_zero_std"),
        "reasoning_share": lambda ax: _draw_series(ax, runs, colors, "reasoning_vocab/share"),
        "curriculum": lambda ax: _draw_named(ax, runs, colors, lambda r: r.curriculum(), steps_style=True),
        "warmup_loss": lambda ax: _draw_warmup_loss(ax, runs, colors),
    }
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        handles = drawers[panel.key](ax)
        _style_axes(ax, panel, None if panel.key == "warmup_loss" else xlim)
        if handles:
            # under the axes, never over the data
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=_legend_columns(handles),
                      fontsize=8, frameon=False, handlelength=2.4, columnspacing=1.2)
    about = f" ({runs[0].about})" if single and runs[0].about else ""
    heading = title or (f"Training curves: {runs[0].label}{about}" if single else "Training curves")
    heading += "".join(f"\nnote: {n}" for n in _notes(runs))
    if single:
        fig.suptitle(heading, fontsize=12 if "\n" not in heading else 11)
    else:
        # the heading is the run legend's title: a suptitle and an outside legend would share one spot
        handles = [Line2D([], [], color=c, linewidth=2.2, label=r.label) for r, c in zip(runs, colors)]
        legend = fig.legend(handles=handles, loc="outside upper center", ncol=min(len(runs), 4), fontsize=9.5, frameon=False,
                   title=heading, title_fontsize=12 if "\n" not in heading else 11, alignment="center")
        legend.get_title().set_multialignment("center")
    fig.curves_heading = heading
    fig.curves_panels = [p.title for p in panels]  # for tests and callers: what was drawn
    return fig


def draw_curves(run_dirs: Sequence[str | Path], labels: Optional[Sequence[str]] = None, out_path: str | Path = CURVES_FILE,
                title: Optional[str] = None) -> Path:
    """One or several runs' curves, overlaid (one colour per run), into out_path (.png, .svg or .pdf)."""
    from rg_verifiers.plotting import _format_of, _save

    _format_of(Path(out_path))  # an unsupported extension fails before any reading
    fig = curves_figure(run_dirs, labels, title)
    return _save(fig, out_path)


def write_training_curves(output_dir: str | Path, title: Optional[str] = None, strict: bool = False) -> Optional[Path]:
    """Draw `<output_dir>/training_curves.png`; the end of every training run calls it.

    strict=False (training): never raises; a problem (no data yet, matplotlib not installed, a bug
    here) is one warning line and the return value is None. strict=True raises CurvesError.
    """
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CurvesNote)
        try:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                raise CurvesError("training curves need matplotlib: pip install 'rg-verifiers[plot]'") from None
            out = draw_curves([output_dir], [Path(output_dir).resolve().name], Path(output_dir) / CURVES_FILE, title)
        except Exception as e:
            if strict:
                raise
            log.warning("training curves not drawn: %s", " ".join(str(e).split()) or type(e).__name__)
            return None
        finally:
            for w in caught:
                if issubclass(w.category, CurvesNote):
                    log.warning("training curves: %s", w.message)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    log.info("training curves: %s (%.1f s)", out, time.perf_counter() - start)
    return out


try_write_training_curves = write_training_curves  # the non-raising form, by its explicit name

__all__ = ["CurvesError", "CurvesNote", "Run", "curves_figure", "draw_curves", "load_run", "try_write_training_curves",
           "unique_labels", "write_training_curves"]
