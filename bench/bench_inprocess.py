"""Worst-case cost of in-process scoring: every task whose scorer runs no model text,
at its top curriculum level, on adversarial answers as long as the answer cap allows.

For each task: one item at the highest level that builds (top level first, then lower), the
item's answer cap (`answer_cap`: 20,000 characters or 3x the gold's length), and these answers
at the cap: the gold repeated, digits, a JSON list, a JSON object, nested brackets, words, and
the gold plus trailing text. Each is scored once through `rg_verifiers.scoring.core.score_answer`
(the in-process path, guards included), with a 30 s alarm. Prints one row per task, worst
first, and writes the numbers to bench/inprocess_scoring.json.

    PYTHONHASHSEED=0 .venv/bin/python bench/bench_inprocess.py [--tasks a,b] [--bound-ms 50]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from rg_verifiers import serialization  # noqa: E402
from rg_verifiers.errors import RGVError  # noqa: E402
from rg_verifiers.references import reference_answer  # noqa: E402
from rg_verifiers.scoring.core import answer_cap, generate_entry, dataset_for, score_answer  # noqa: E402
from rg_verifiers.tasks import EXEC_SCORERS, IN_PROCESS_BOUND_MS, SANDBOXED, build_config, task_info, task_names  # noqa: E402


class Alarm(Exception):
    pass


def _alarm(*_):
    raise Alarm


def answers(gold: str, cap: int) -> dict[str, str]:
    def fill(unit: str) -> str:
        unit = unit or "x"
        return (unit * (cap // len(unit) + 1))[:cap]

    n = cap // 8
    return {
        "gold_repeated": fill(gold + "\n"),
        "digits": "9" * cap,
        "json_list": json.dumps(list(range(n)))[: cap - 1] .rsplit(",", 1)[0] + "]",
        "json_object": "{" + ", ".join(f'"k{i}": {i}' for i in range(n))[: cap - 2].rsplit(",", 1)[0] + "}",
        "json_tree": _json_to_cap({"output": [[i, [i, {"v": i}]] for i in range(n)]}, cap),
        "gold_json_inflated": _inflate(gold, cap),
        "brackets": "[" * (cap // 2) + "]" * (cap // 2),
        "words": fill("alpha beta gamma "),
        "gold_then_text": (gold + " " + fill("and some trailing text "))[:cap],
    }


def _json_to_cap(obj, cap: int) -> str:
    """The longest prefix of obj's list (its first list value) whose JSON fits in cap."""
    key = next(iter(obj))
    items = obj[key]
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(json.dumps({key: items[:mid]})) <= cap:
            lo = mid
        else:
            hi = mid - 1
    return json.dumps({key: items[:lo]})


def _inflate(gold: str, cap: int) -> str:
    """A JSON gold with every value replaced by a long list of small objects (same keys)."""
    try:
        parsed = json.loads(gold)
    except Exception:
        return gold
    keys = list(parsed) if isinstance(parsed, dict) else ["output"]
    per_key = max(1, cap // (len(keys) * 12))
    obj = {k: [{"a": i} for i in range(per_key)] for k in keys}
    text = json.dumps(obj)
    while len(text) > cap and per_key > 1:
        per_key = per_key * 9 // 10
        obj = {k: [{"a": i} for i in range(per_key)] for k in keys}
        text = json.dumps(obj)
    return text


def top_config(task: str):
    levels = task_info(task).difficulty_levels
    for level in range(levels - 1, -1, -1) if levels else [None]:
        try:
            return level, build_config(task, None, level, seed=0, size=10)
        except RGVError:
            continue
    return None, build_config(task, None, None, seed=0, size=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="")
    ap.add_argument("--bound-ms", type=float, default=IN_PROCESS_BOUND_MS)
    ap.add_argument("--out", default=str(Path(__file__).with_name("inprocess_scoring.json")))
    args = ap.parse_args()
    # every task whose scorer runs no model text: the in-process ones, and the slow ones that
    # this measurement sent to the workers (SLOW_OR_FRAGILE_SCORERS), for comparison
    tasks = args.tasks.split(",") if args.tasks else [t for t in task_names() if t not in EXEC_SCORERS]
    signal.signal(signal.SIGALRM, _alarm)
    rows = []
    for task in tasks:
        try:
            level, cfg = top_config(task)
            config_json = serialization.dumps({k: getattr(cfg, k) for k in cfg.__dataclass_fields__})
            signal.alarm(120)
            entry = serialization.loads(serialization.dumps(generate_entry(dataset_for(task, config_json), 0)))
            signal.alarm(0)
        except (Alarm, Exception) as exc:
            signal.alarm(0)
            print(f"{task}: no item ({type(exc).__name__})", file=sys.stderr)
            continue
        gold = reference_answer(task, entry) or ""
        cap = answer_cap(gold)
        times = {}
        for name, answer in answers(gold, cap).items():
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, 30.0)
            try:
                score_answer(task, config_json, entry, answer)
                times[name] = (time.perf_counter() - t0) * 1000
            except Alarm:
                times[name] = float("inf")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        worst = max(times, key=times.get)
        rows.append({"task": task, "in_process": task not in SANDBOXED, "level": level, "gold_chars": len(gold), "cap": cap,
                     "worst_ms": times[worst], "worst_answer": worst, "ms": times})
        where = "in-process" if task not in SANDBOXED else "workers"
        print(f"{task:28s} {where:10s} level={level} cap={cap:6d} worst={times[worst]:9.1f} ms ({worst})", flush=True)
    rows.sort(key=lambda r: -r["worst_ms"])
    inproc = [r for r in rows if r["in_process"]]
    over = [r["task"] for r in inproc if r["worst_ms"] > args.bound_ms]
    print(f"\n{len(inproc)} in-process tasks; worst {inproc[0]['task'] if inproc else '-'} "
          f"{inproc[0]['worst_ms'] if inproc else 0:.1f} ms; over {args.bound_ms:g} ms: {over or 'none'}")
    print("scored in workers:", ", ".join(f"{r['task']} {r['worst_ms']:.1f} ms" for r in rows if not r["in_process"]))
    print("slowest in-process:", ", ".join(f"{r['task']} {r['worst_ms']:.1f} ms" for r in inproc[:8]))
    Path(args.out).write_text(json.dumps({"bound_ms": args.bound_ms, "rows": rows}, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
