"""Tables of results (ours or vf-eval's), per task and per model."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .results import ResultsTable, load_results


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def results_table(table: ResultsTable, title: str = "results") -> Table:
    out = Table(title=title)
    for col in ("task", "model", "n", "accuracy %", "95% CI", "parse fail %", "tokens", "latency s"):
        out.add_column(col, justify="left" if col in ("task", "model") else "right")
    for task in table.tasks:
        for model in table.models:
            r = table.get(task, model)
            if r is None:
                continue
            lo, hi = r.accuracy_ci95
            out.add_row(task, model, str(r.n_rollouts), _pct(r.accuracy), f"{_pct(lo)}–{_pct(hi)}", _pct(r.parse_failure_rate),
                        "-" if r.mean_completion_tokens is None else f"{r.mean_completion_tokens:.0f}",
                        "-" if r.mean_latency_s is None else f"{r.mean_latency_s:.2f}")
    if len(table.tasks) > 1:
        for model, avg in table.average().items():
            lo, hi = avg.get("accuracy_ci95", (None, None))
            out.add_row("[b]average[/]", model, "", _pct(avg.get("accuracy")), f"{_pct(lo)}–{_pct(hi)}", "", "", "")
    return out


def print_report(paths: list[str | Path], title: str = "results") -> ResultsTable:
    table = load_results(paths)
    # piped output (logs, CI) gets full rows instead of 80-column wrapping
    Console(width=None if sys.stdout.isatty() else 200).print(results_table(table, title))
    return table
