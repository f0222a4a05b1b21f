"""Tables of results (ours or vf-eval's), per task and run: terminal, JSON, CSV, markdown.

One row per (task, run) as `load_results` keys them (see rg_verifiers.results): items and
rollouts apart, rollouts whose model call failed counted as errors and left out of every score,
pass@k when runs have several rollouts per item, the task's difficulty/config.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .errors import RGVError
from .results import ResultsTable, format_generation, format_task_args, load_results

REPORT_SCHEMA = "rg-verifiers/report/v1"
FORMATS = ("table", "json", "csv", "md", "rg-json")  # rg-json: reasoning-gym eval folders, one per series (-o DIR)
_BY_SUFFIX = {".json": "json", ".csv": "csv", ".md": "md", ".markdown": "md"}


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _num(x, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ks(table: ResultsTable) -> list[int]:
    return sorted({k for per in table.results.values() for r in per.values() for k in r.pass_at_k})


def report_rows(table: ResultsTable) -> list[dict[str, Any]]:
    """Every (task, run) of the table as plain data (what the JSON export holds)."""
    rows = []
    for task in table.tasks:
        for label, r in table.results[task].items():
            run = r.run
            args = run.task_args if run else {}
            rows.append({
                "task": task,
                "label": label,
                "model": r.model,
                "env_id": run.env_id if run else None,
                "difficulty": args.get("difficulty"),
                "config": args.get("config") or {},
                "task_args": (format_task_args(args) or "defaults") if run else "-",
                "env_args": dict(run.env_args) if run else {},
                "generation": dict(run.generation) if run else None,  # None: not known (a table built in code)
                "items": r.n_examples,
                "rollouts": r.n_rollouts,
                "errors": r.n_errors,
                "error_rate": r.error_rate,
                "accuracy": r.accuracy,
                "accuracy_ci95": list(r.accuracy_ci95) if r.accuracy_ci95 is not None else None,
                "pass_at_k": {str(k): v for k, v in sorted(r.pass_at_k.items())},
                "parse_failure_rate": r.parse_failure_rate,
                "mean_reward": r.mean_reward,
                "mean_completion_tokens": r.mean_completion_tokens,
                "mean_latency_s": r.mean_latency_s,
                "first_error": r.extra.get("first_error"),
                "source": run.source if run else None,
                "timestamp": run.timestamp if run else None,
                "effective_config": run.effective_config if run else None,
                "provenance": dict(run.provenance) if run else {},
            })
    return rows


def _averages(table: ResultsTable) -> list[dict[str, Any]]:
    if len(table.tasks) < 2:
        return []
    out = []
    for label, avg in table.average().items():
        tasks = [t for t in table.tasks if table.get(t, label) is not None and table.get(t, label).scored]
        if len(tasks) < 2:  # the average of one task is that task's row
            continue
        out.append({"label": label, "model": table.series_model(label), "n_tasks": avg["n_tasks"], "tasks": tasks,
                    "accuracy": avg["accuracy"], "accuracy_ci95": avg["accuracy_ci95"]})
    return out


def _generation_note(rows: list[dict]) -> Optional[str]:
    """One line when every row ran with the same generation settings (else they get a column)."""
    gens = {json.dumps(r["generation"], sort_keys=True) for r in rows}
    if len(gens) != 1:
        return None
    return f"generation: {format_generation(rows[0]['generation'])}" if rows[0]["generation"] is not None else ""


def _cells(table: ResultsTable) -> tuple[list[str], list[list[str]], int, Optional[str]]:
    """Headers, rows of text (averages last), how many rows are per-task, and the caption."""
    rows = report_rows(table)
    ks = [k for k in _ks(table) if k > 1]  # pass@1 is the accuracy column for 0/1 scores
    gen_note = _generation_note(rows)  # "" = unknown for every row: neither a caption nor a column
    caption = [gen_note] if gen_note else []
    if any(r["errors"] for r in rows):
        caption.append("errors: rollouts whose model call failed, left out of accuracy")
    headers = ["task", "model", "difficulty/config"] + ([] if gen_note is not None else ["generation"]) + [
        "items", "rollouts", "errors", "accuracy %", "95% CI"] + [f"pass@{k} %" for k in ks] + [
        "parse fail %", "tokens", "latency s"]
    body = []
    for row in rows:
        ci = row["accuracy_ci95"]
        cells = [row["task"], row["label"], row["task_args"]] + ([] if gen_note is not None else [format_generation(row["generation"]) if row["generation"] is not None else "-"]) + [
            str(row["items"]), str(row["rollouts"]), str(row["errors"]),
            _pct(row["accuracy"]), f"{_pct(ci[0])}–{_pct(ci[1])}" if ci else "-"]
        cells += [_pct(row["pass_at_k"].get(str(k))) for k in ks]
        cells += [_pct(row["parse_failure_rate"]), _num(row["mean_completion_tokens"], 0), _num(row["mean_latency_s"], 2)]
        body.append(cells)
    for avg in _averages(table):
        lo, hi = avg["accuracy_ci95"]
        body.append([f"average ({avg['n_tasks']} tasks)", avg["label"], ""] + ([] if gen_note is not None else [""]) + [
            "", "", "", _pct(avg["accuracy"]), f"{_pct(lo)}–{_pct(hi)}"] + [""] * len(ks) + ["", "", ""])
    return headers, body, len(rows), "; ".join(caption) or None


_LEFT = {"task", "model", "difficulty/config", "generation"}


def results_table(table: ResultsTable, title: str = "results") -> Table:
    headers, body, n_rows, caption = _cells(table)
    out = Table(title=title, caption=caption)
    for col in headers:
        out.add_column(col, justify="left" if col in _LEFT else "right")
    for i, cells in enumerate(body):
        # Text, not markup: labels such as `model [difficulty=3]` hold brackets
        out.add_row(*[Text(c, style="bold" if i >= n_rows and j == 0 else "") for j, c in enumerate(cells)])
    return out


def to_json(table: ResultsTable) -> str:
    doc = {"schema": REPORT_SCHEMA, "rows": report_rows(table), "averages": _averages(table), "notes": list(table.notes)}
    return json.dumps(doc, indent=1, default=str) + "\n"


CSV_COLUMNS = ["task", "label", "model", "env_id", "difficulty", "config", "max_tokens", "temperature", "top_p",
               "sampling_seed", "items", "rollouts", "errors", "accuracy", "ci95_low", "ci95_high"]
CSV_TAIL = ["parse_failure_rate", "mean_completion_tokens", "mean_latency_s", "source"]


def to_csv(table: ResultsTable) -> str:
    ks = _ks(table)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS + [f"pass@{k}" for k in ks] + CSV_TAIL)
    for row in report_rows(table):
        gen, ci = row["generation"] or {}, row["accuracy_ci95"] or [None, None]
        values = [row["task"], row["label"], row["model"], row["env_id"], row["difficulty"],
                  json.dumps(row["config"], sort_keys=True) if row["config"] else "",
                  gen.get("max_tokens"), gen.get("temperature"), gen.get("top_p"), gen.get("seed"),
                  row["items"], row["rollouts"], row["errors"], row["accuracy"], ci[0], ci[1]]
        values += [row["pass_at_k"].get(str(k)) for k in ks]
        values += [row["parse_failure_rate"], row["mean_completion_tokens"], row["mean_latency_s"], row["source"]]
        w.writerow(["" if v is None else round(v, 6) if isinstance(v, float) else v for v in values])
    return buf.getvalue()


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(table: ResultsTable, title: Optional[str] = None) -> str:
    headers, body, n_rows, caption = _cells(table)
    lines = [f"### {_md_cell(title)}", ""] if title else []
    lines += ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
              "| " + " | ".join("---" if h in _LEFT else "---:" for h in headers) + " |"]
    for i, cells in enumerate(body):
        cells = [f"**{c}**" if i >= n_rows and j == 0 else c for j, c in enumerate(cells)]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    if caption:
        lines += ["", caption]
    return "\n".join(lines) + "\n"


def format_for(fmt: Optional[str], output: Optional[Path]) -> str:
    """The export format: --format, else the output file's extension, else the terminal table."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise RGVError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        if fmt == "table" and output is not None:
            raise RGVError("-o writes json, csv or md: pass --format json|csv|md or a .json/.csv/.md file name")
        if fmt == "rg-json" and output is None:
            raise RGVError("--format rg-json writes folders: give -o DIR (one reasoning-gym eval folder per run is written in it)")
        return fmt
    if output is None:
        return "table"
    by_ext = _BY_SUFFIX.get(output.suffix.lower())
    if by_ext is None:
        raise RGVError(f"cannot tell the format of {output} from its extension; use .json, .csv or .md, or --format")
    return by_ext


def render(table: ResultsTable, fmt: str, title: Optional[str] = None) -> str:
    if fmt == "json":
        return to_json(table)
    if fmt == "csv":
        return to_csv(table)
    if fmt == "md":
        return to_markdown(table, title)
    raise RGVError(f"format must be one of json, csv, md, got {fmt!r}")


def print_notes(table: ResultsTable) -> None:
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    for note in table.notes:
        err.print(Text.assemble(("note:", "yellow"), " ", note))


def report(paths: Sequence[str | Path], fmt: Optional[str] = None, output: Optional[Path] = None,
           title: str = "results", latest: bool = False, reference: Optional[str] = None) -> ResultsTable:
    """`rgv report`: load, then print the table or write/print an export; `reference` (rg-easy,
    rg-hard) adds the paper's published runs as rows."""
    fmt = format_for(fmt, output)  # before loading: a bad format costs nothing
    table = load_results(list(paths), latest=latest)
    if reference:
        from .suites.paper import add_reference

        add_reference(table, reference)
    print_notes(table)
    if fmt == "table":
        # piped output (logs, CI) gets full rows instead of 80-column wrapping
        Console(width=None if sys.stdout.isatty() else 250).print(results_table(table, title))
        return table
    if fmt == "rg-json":
        from .rg_eval_format import write_rg_eval

        written = write_rg_eval(table, output)
        for path in (p for p in written if p.name == "summary.json"):
            Console(stderr=True, soft_wrap=True, highlight=False).print(Text(f"wrote {path.parent}/ (summary.json + per-task files)"))
        return table
    text = render(table, fmt, None if title == "results" else title)
    if output is None:
        sys.stdout.write(text)
        return table
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise RGVError(f"cannot write {output}: {e.strerror or e}") from None
    Console(stderr=True, soft_wrap=True, highlight=False).print(Text(f"wrote {output}"))
    return table


def print_report(paths: list[str | Path], title: str = "results") -> ResultsTable:
    return report(paths, title=title)
