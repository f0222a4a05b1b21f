"""Pipeline throughput: `rgv bench` vs `vf-eval` end to end, against a zero-latency fake endpoint.

Both sides run as whole commands (start-up, item building, requests, parsing, scoring, saving),
on the same items (same env args: num_eval_examples=n, num_train_examples=0, seed 0), the same
n, r, max concurrency, max tokens and temperature, against the same fake OpenAI server (a
separate process answering gold answers at once). vf-eval takes one environment per command,
so a multi-task workload is one `rgv bench` against vf-eval once per task, one after another,
which is how the same comparison is made by hand. The commands alternate (A B A B ...) so drift
on a shared machine hits both; the median of the timed runs is reported, after one warm-up pair
that also fills the item cache.

    .venv/bin/python bench/bench_pipeline.py [--tasks leg_counting basic_arithmetic chain_sum]
        [-n 100] [-r 4] [-c 32] [--repeats 5] [--plot]

rollouts/s = tasks * n * r / wall seconds of the whole command(s).
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

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def serve(tasks: list[str], n: int) -> None:
    """Child mode: a FakeOpenAI with the gold answers of these items; prints its URL."""
    import http.server
    import socketserver

    # behave like a real server (vLLM/uvicorn), or the fake's own limits would be what is timed:
    # a listen backlog that takes a burst of `-c` connections (the default 5 drops SYNs: 1 s
    # retransmits), keep-alive, and no Nagle delay (headers and body are two writes: +40 ms)
    socketserver.TCPServer.request_queue_size = 1024
    http.server.BaseHTTPRequestHandler.protocol_version = "HTTP/1.1"
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_openai import FakeOpenAI

    from rg_verifiers import serialization
    from rg_verifiers.env import load_rg_environment
    from rg_verifiers.references import reference_answer

    refs = {}
    for task in tasks:
        env = load_rg_environment(task, num_eval_examples=n, num_train_examples=0, seed=0)
        for row in env.eval_dataset:
            refs[row["question"]] = reference_answer(task, serialization.loads(row["info"]["entry"])) or ""
    with FakeOpenAI(refs) as fake:
        print(fake.base_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def ours_cmd(url, tasks, args, out) -> list[list[str]]:
    cmd = [str(BIN / "rgv"), "bench", "--models", f"gold={url}", "--tasks", *tasks, "-n", str(args.n), "-r", str(args.r),
           "-c", str(args.c), "-t", str(args.max_tokens), "-T", "1.0", "-o", str(out)]
    return [cmd + ([] if args.plot else ["--no-plot"])]


def vf_cmds(url, tasks, args, out) -> list[list[str]]:
    env_args = json.dumps({"num_eval_examples": args.n, "num_train_examples": 0, "seed": 0})
    return [[str(BIN / "vf-eval"), "rg-" + t.replace("_", "-"), "-m", "gold", "-b", url, "-k", "OPENAI_API_KEY",
             "-n", str(args.n), "-r", str(args.r), "-c", str(args.c), "-t", str(args.max_tokens), "-T", "1.0",
             "-s", "-a", env_args] for t in tasks]


def timed(cmds: list[list[str]], cwd: Path) -> float:
    env = dict(os.environ, OPENAI_API_KEY="fake", VF_LOG_LEVEL="WARNING")
    t0 = time.perf_counter()
    for cmd in cmds:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{cmd[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def check_gold(work: Path, tasks: list[str]) -> None:
    """Both sides must have scored every gold answer 1.0, or the timing compares broken runs."""
    ours = json.loads(next((work / "ours").glob("results_all_tasks_*.json")).read_text())
    assert all(ours["results"][t]["gold"]["accuracy"] == 1.0 for t in tasks), "rgv bench did not score gold as 1.0"
    for path in (work / "vf" / "outputs" / "evals").glob("*/*/results.jsonl"):
        rewards = [json.loads(line)["reward"] for line in path.read_text().splitlines()]
        assert rewards and all(r == 1.0 for r in rewards), f"vf-eval did not score gold as 1.0 in {path}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", nargs=2, metavar=("TASKS", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--tasks", nargs="+", default=["leg_counting", "basic_arithmetic", "chain_sum"])
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("-r", type=int, default=4)
    ap.add_argument("-c", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--plot", action="store_true", help="let rgv bench draw its charts too (vf-eval draws none)")
    args = ap.parse_args()
    if args.serve:
        return serve(args.serve[0].split(","), int(args.serve[1]))

    server = subprocess.Popen([sys.executable, __file__, "--serve", ",".join(args.tasks), str(args.n)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        url = server.stdout.readline().strip()
        if not url:
            sys.exit("the fake endpoint did not start")
        rollouts = len(args.tasks) * args.n * args.r
        times = {"rgv bench": [], "vf-eval": []}
        ratios = []
        for i in range(args.repeats + 1):  # the first pair is a warm-up
            work = Path(tempfile.mkdtemp(prefix="rgv-bench-pipeline-"))
            try:
                (work / "vf").mkdir()
                t_ours = timed(ours_cmd(url, args.tasks, args, work / "ours"), work)
                t_vf = timed(vf_cmds(url, args.tasks, args, work), work / "vf")
                check_gold(work, args.tasks)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            if i:
                times["rgv bench"].append(t_ours)
                times["vf-eval"].append(t_vf)
                ratios.append(t_vf / t_ours)
            print(f"{'warm-up' if not i else f'run {i}':>8}: rgv bench {t_ours:6.2f} s   vf-eval {t_vf:6.2f} s", flush=True)
    finally:
        server.stdin.close()
        server.wait(30)

    print(f"\nworkload: {len(args.tasks)} task(s) x n={args.n} x r={args.r} = {rollouts} rollouts, "
          f"concurrency {args.c}, {'with' if args.plot else 'without'} rgv charts, median of {args.repeats}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:>10}: {med:6.2f} s  {rollouts / med:7.1f} rollouts/s  (min {min(ts):.2f}, max {max(ts):.2f})")
    print(f"     ratio: {statistics.median(ratios):.2f}x  (rgv bench rollouts/s / vf-eval rollouts/s, median of "
          f"per-pair ratios; range {min(ratios):.2f}-{max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
