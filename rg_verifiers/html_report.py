"""`rgv report --html OUT.html`: one self-contained static page per benchmark.

Everything is inside the file (inline CSS, charts as inline SVG written by matplotlib, no script,
font or image fetched from anywhere): summary and per-category charts, the per-task table with
items, rollouts and 95% intervals, sample completions per task (correct and wrong, collapsible),
each run's generation settings and provenance, and the paper's runs beside yours when asked for.
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path
from typing import Optional

from .errors import RGVError
from .results import ResultsTable


def _svg(draw, *args) -> str:
    """`draw(*args, out)`'s chart as inline <svg> markup (its XML prologue and doctype dropped)."""
    import matplotlib.pyplot as plt

    with tempfile.TemporaryDirectory(prefix="rgv-html-") as tmp:
        path = Path(tmp) / "chart.svg"
        draw(*args, path)
        plt.close("all")
        text = path.read_text(encoding="utf-8")
    return text[text.find("<svg"):]


def categories_for(table: ResultsTable, reference: Optional[str]) -> dict[str, str]:
    """Suite categories where known (a suite's results, the paper's), else reasoning-gym's module category."""
    from .plotting import categories_of

    cats = categories_of(table.tasks)
    if reference:
        from .suites.paper import paper_categories

        cats.update({t: c for t, c in paper_categories(reference).items() if t in cats})
    for per_model in table.results.values():
        for r in per_model.values():
            if r.extra.get("category"):
                cats[r.task] = str(r.extra["category"])
    return cats


def _cell(r) -> Optional[dict]:
    if r is None:
        return None
    lo, hi = r.accuracy_ci95 or (None, None)
    return {"accuracy": r.accuracy, "lo": lo, "hi": hi, "n": r.n_rollouts, "items": r.n_examples, "errors": r.n_errors,
            "reproduced": r.extra.get("published_questions_reproduced")}


def build_context(table: ResultsTable, reference: Optional[str] = None, title: Optional[str] = None,
                  samples_per_kind: int = 2) -> dict:
    from .plotting import plot_heatmap
    from .samples import samples_for
    from .suite_charts import is_paper, overall_scores, plot_overall, plot_radar, plot_task_dots

    notes = list(table.notes)
    cats = categories_for(table, reference)
    mine = [m for m in table.models if not is_paper(m)]
    paper = [m for m in table.models if is_paper(m)]
    charts = {"overall": _svg(plot_overall, table)}
    if len({cats.get(t, "other") for t in table.tasks}) >= 3:  # a radar of two axes is a line
        charts["radar"] = _svg(plot_radar, table, cats)
    if not paper and len(table.tasks) > 1:
        charts["heatmap"] = _svg(lambda t, out: plot_heatmap(t, out, categories=cats), table)
    by_cat: dict[str, list[str]] = {}
    for t in table.tasks:
        by_cat.setdefault(cats.get(t, "other"), []).append(t)
    sections = []
    for cat, tasks in by_cat.items():
        rows = []
        for t in tasks:
            row = {"task": t, "cells": [_cell(table.get(t, m)) for m in table.models], "samples": []}
            for m in mine:
                r = table.get(t, m)
                if r is not None:
                    s = samples_for(r, samples_per_kind)
                    if s["correct"] or s["wrong"]:
                        row["samples"].append({"series": m, **s})
            repro = [c["reproduced"] for c in row["cells"] if c and c["reproduced"]]
            row["reproduced"] = repro[0] if repro else None
            rows.append(row)
        sub = table.reordered(tasks)
        sections.append({"category": cat, "rows": rows,
                         "chart": _svg(lambda tb, out: plot_task_dots(tb, cats, out, title=f"{cat}: accuracy per task", only=cat), sub)})
    common, avgs = overall_scores(table)
    runs = []
    for m in mine:
        r = next((table.get(t, m) for t in table.tasks if table.get(t, m) is not None), None)
        run = r.run if r is not None else None
        prov = (run.provenance if run else {}) or {}
        runs.append({"series": m, "model": table.series_model(m), "kind": run.kind if run else "",
                     "source": run.source if run else "", "generation": dict(run.generation) if run else {},
                     "env_args": prov.get("env_args") or (run.env_args if run else {}),
                     "provenance": {k: v for k, v in prov.items() if k not in ("env_args", "generation")}})
    return {
        "title": title or "rg-verifiers benchmark report", "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "series": table.models, "mine": mine, "paper": paper, "is_paper": {m: is_paper(m) for m in table.models},
        "overall": [{"series": m, **avgs[m]} for m in table.models], "n_common": len(common),
        "charts": charts, "sections": sections, "runs": runs, "notes": notes, "reference": reference,
        "reference_source": _reference_source(reference),
    }


def _reference_source(reference: Optional[str]) -> Optional[str]:
    if not reference:
        return None
    from .suites.paper import source_line

    return source_line()


def render_html(context: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("rg_verifiers", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.1f}"
    env.filters["json"] = lambda x: __import__("json").dumps(x, indent=1, sort_keys=True, default=str)
    return env.get_template("report.html.j2").render(**context)


def write_html(paths, out: Path, reference: Optional[str] = None, title: Optional[str] = None, latest: bool = False,
               table: Optional[ResultsTable] = None) -> Path:
    from .results import load_results

    if table is None:
        table = load_results(list(paths), latest=latest)
    if reference:
        from .suites.paper import add_reference, check_reference

        check_reference(reference)
        add_reference(table, reference)
    text = render_html(build_context(table, reference, title))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise RGVError(f"cannot write {out}: {e.strerror or e}") from None
    return out
