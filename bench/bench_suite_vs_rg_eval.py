"""Suite throughput: `rgv bench --suite` vs reasoning-gym's own `eval/eval.py`, same items, same endpoint.

Both run as whole commands on one suite file in reasoning-gym's eval format (a slice of rg-easy:
the same datasets, seed 45, size 50, params), against the same fake OpenAI server with a fixed
latency per request (a separate process; gold answers), at the same maximum concurrency and the
same sampling fields (T 0.6, top_p 0.95, max_tokens 32768: eval.py's defaults). eval.py runs from
a reasoning-gym checkout (never copied here); it needs openai, pyyaml, tqdm and reasoning_gym,
all in this project's venv. The commands alternate (A B A B ...); medians of the timed runs,
after one warm-up pair (which also fills rg-verifiers' item cache: a second `rgv bench` of a
suite reads its items from the cache, as any repeated run would).

    git clone https://github.com/open-thought/reasoning-gym /tmp/reasoning-gym
    .venv/bin/python bench/bench_suite_vs_rg_eval.py --reasoning-gym /tmp/reasoning-gym [--latency 0.2] [-c 16] [--repeats 3]

Both must ask every item once and score every gold answer 1.0; the script checks it and prints
requests/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# two categories, as in the suite: eval.py runs categories concurrently, a category's datasets in turn
SLICE = {"arithmetic": ["basic_arithmetic", "chain_sum", "leg_counting"], "algorithmic": ["word_sorting", "letter_counting", "spell_backward"]}


def suite_slice(path: Path) -> list[tuple[str, str, dict]]:
    from rg_verifiers.suites import load_suite

    suite = load_suite("rg-easy")
    wanted = {t for ts in SLICE.values() for t in ts}
    tasks = [(t.category, t.name, t.params) for t in suite.tasks if t.name in wanted]
    doc = {"default_size": 50, "default_seed": 45, "categories": [
        {"category": c, "datasets": [{"dataset": n, **({"params": p} if p else {})} for cc, n, p in tasks if cc == c]}
        for c in SLICE]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return tasks


def serve(suite: Path, latency: float) -> None:
    """Child mode: a fake OpenAI server answering the suite's gold answers after `latency` s."""
    import http.server
    import socketserver

    import reasoning_gym

    socketserver.TCPServer.request_queue_size = 1024
    http.server.BaseHTTPRequestHandler.protocol_version = "HTTP/1.1"
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_openai import FakeOpenAI

    from rg_verifiers.references import reference_answer
    from rg_verifiers.suites import load_suite

    refs = {}
    for t in load_suite(str(suite)).tasks:
        for e in reasoning_gym.create_dataset(t.name, seed=t.seed, size=t.size, **t.params):
            refs[e["question"]] = reference_answer(t.name, e) or ""
    with FakeOpenAI(refs, delay_s=latency) as fake:
        print(fake.base_url, flush=True)
        sys.stdin.read()


def ours(url: str, suite: Path, c: int, out: Path) -> list[str]:
    return [str(BIN / "rgv"), "bench", "--suite", str(suite), "--models", f"gold={url}", "-c", str(c), "-T", "0.6",
            "--top-p", "0.95", "-t", "32768", "--no-plot", "-o", str(out)]


def theirs(url: str, suite: Path, c: int, out: Path, rg_eval: Path) -> list[str]:
    return [sys.executable, str(rg_eval / "eval.py"), "--config", str(suite), "--model", "gold", "--base-url", url,
            "--api-key", "fake", "--max-concurrent", str(c), "--output-dir", str(out)]


def timed(cmd: list[str], cwd: Path) -> float:
    env = dict(os.environ, OPENAI_API_KEY="fake", OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")
    return took


def check(ours_out: Path, theirs_out: Path, tasks: list) -> None:
    doc = json.loads(next(ours_out.glob("results_all_tasks_*.json")).read_text())
    summary = json.loads(next(theirs_out.glob("*/summary.json")).read_text())
    for _, name, _ in tasks:
        r = doc["results"][name]["gold"]
        assert r["n_examples"] == 50 and r["accuracy"] == 1.0, (name, r["accuracy"])
        assert summary["dataset_best_scores"][name] == 1.0, (name, summary["dataset_best_scores"][name])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reasoning-gym", type=Path, required=True, help="a checkout of open-thought/reasoning-gym (its eval/ folder is run)")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds the fake server takes per request")
    ap.add_argument("-c", type=int, default=16, help="max concurrent requests, both tools")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rg_eval = args.reasoning_gym / "eval"
    if not (rg_eval / "eval.py").is_file():
        sys.exit(f"no eval/eval.py under {args.reasoning_gym}: clone https://github.com/open-thought/reasoning-gym")
    work = Path(tempfile.mkdtemp(prefix="rgv-suite-bench-"))
    try:
        suite = work / "suite.yaml"
        tasks = suite_slice(suite)
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(suite), str(args.latency)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        url = server.stdout.readline().strip()
        n_req = 50 * len(tasks)
        times: dict[str, list[float]] = {"rgv bench --suite": [], "reasoning-gym eval.py": []}
        try:
            for i in range(args.repeats + 1):
                a, b = work / f"ours{i}", work / f"theirs{i}"
                t_ours = timed(ours(url, suite, args.c, a), work)
                t_theirs = timed(theirs(url, suite, args.c, b, rg_eval), rg_eval)
                check(a, b, tasks)
                if i:  # the first pair warms caches
                    times["rgv bench --suite"].append(t_ours)
                    times["reasoning-gym eval.py"].append(t_theirs)
        finally:
            server.stdin.close()
            server.wait(timeout=30)
        print(f"{len(tasks)} tasks x 50 items of rg-easy (seed 45) = {n_req} requests; latency {args.latency} s; "
              f"max concurrency {args.c}; {args.repeats} timed runs each (medians)")
        med = {k: statistics.median(v) for k, v in times.items()}
        for k, v in times.items():
            print(f"  {k:24s} {med[k]:6.2f} s  {n_req / med[k]:6.1f} requests/s  (runs: {', '.join(f'{x:.2f}' for x in v)})")
        print(f"  ideal (requests / concurrency x latency): {n_req / args.c * args.latency:.2f} s")
        print(f"ratio rgv bench / eval.py throughput: {med['reasoning-gym eval.py'] / med['rgv bench --suite']:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), float(sys.argv[3]))
    else:
        main()
