"""Scoring throughput: our rubric vs verifiers' built-in ReasoningGymEnv on the same items.

Both rubrics score the same rollouts (gold completions for half the items, a wrong answer for the
other half) through verifiers' own Rubric.score_group, groups of 4 rollouts gathered
concurrently as vf-eval/the trainer do. Ours runs the risky scorers in 2 sandboxed workers
(started before timing: they live as long as the env); the baseline scores everything on the
event loop, regenerating each entry from its index as ReasoningGymEnv does.

    .venv/bin/python bench/bench_scoring.py [--repeat 5]

`--scaling` measures the sandboxed workers instead: rollouts/s of ONE worker on each task whose scorer
executes model text (gold answers for half the rollouts, another item's gold, a well-formed wrong
answer, for the other half), then, on the slowest of them, a 512-rollout step (one TRL/RLTrainer
step's worth) with 1 and with 2 workers, alternated in the same process, the ratio printed; and what
a 32- and a 64-core node would take at the default worker count, labelled as an estimate (this
machine has 2 cores):

    .venv/bin/python bench/bench_scoring.py --scaling [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import statistics
import sys
import time

if os.environ.get("PYTHONHASHSEED") != "0":  # polynomial_multiplication's items depend on it
    os.execve(sys.executable, [sys.executable, *sys.argv], dict(os.environ, PYTHONHASHSEED="0"))

import verifiers as vf
from verifiers.envs.integrations.reasoninggym_env import ReasoningGymEnv

from rg_verifiers import serialization
from rg_verifiers.data import EVAL_SEED_OFFSET
from rg_verifiers.env import load_rg_environment
from rg_verifiers.scoring import Scorer
from rg_verifiers.scoring.sizing import WORKER_RSS_MB, available_memory_mb, default_workers, usable_cores
from rg_verifiers.tasks import EXEC_SCORERS

CLASSES = {
    "cheap": (["leg_counting", "basic_arithmetic", "spell_backward", "word_sorting"], 400),
    "medium": (["arc_agi", "tower_of_hanoi", "pool_matrix", "number_sorting"], 200),
    "slow": (["polynomial_multiplication", "simple_integration", "countdown", "sokoban"], 40),
}
GROUP = 4


def make_state(prompt, completion, answer, info):
    st = vf.State(input={"prompt": prompt, "answer": answer, "info": info, "example_id": 0, "task": "default"})
    st.update(completion=completion, trajectory=[], reward=None, metrics=None, error=None,
              timing={"generation_ms": 0.0, "scoring_ms": 0.0, "total_ms": 0.0, "start_time": time.time()})
    return st


def rollouts(rows, golds):
    out = []
    for i, row in enumerate(rows):
        text = f"<answer>{golds[i]}</answer>" if i % 2 == 0 else "<answer>0</answer>"
        for _ in range(GROUP):
            out.append((row["prompt"], [{"role": "assistant", "content": f"Reasoning...\n{text}"}], row["answer"], row.get("info", {})))
    return out


async def score_all(rubric, items) -> float:
    # fresh completion objects each run, as a real rollout has: nothing may be served from a cache
    states = [make_state(p, [dict(m) for m in c], a, i) for p, c, a, i in items]
    groups = [states[i:i + GROUP] for i in range(0, len(states), GROUP)]
    # collector pauses over the growing heap swung single runs 4x; keep them out of both sides
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        await asyncio.gather(*[rubric.score_group(g, score_sem=contextlib.nullcontext()) for g in groups])
        elapsed = time.perf_counter() - t0
    finally:
        gc.enable()
    return len(states) / elapsed, [s["reward"] for s in states]


def bench_task(task: str, n: int, repeat: int):
    ours = load_rg_environment(task, num_eval_examples=n, num_train_examples=0)
    # ReasoningGymEnv's eval rows are items [num_train, num_train + n) of its seed: align them with ours
    base = ReasoningGymEnv(task, num_train_examples=1, num_eval_examples=n, seed=EVAL_SEED_OFFSET - 1)  # ours: seed 0
    # pair rows by question: ours drops duplicate questions, the baseline keeps them
    base_rows = {}
    for row in base.eval_dataset:
        base_rows.setdefault(row["question"], row)
    pairs = [(row, base_rows[row["question"]]) for row in ours.eval_dataset if row["question"] in base_rows]
    golds = [o["answer"] for o, _ in pairs]
    ours_items = rollouts([o for o, _ in pairs], golds)
    base_items = rollouts([b for _, b in pairs], golds)
    # warm the workers (their start-up belongs to env creation, not to scoring)
    asyncio.run(score_all(ours.rubric, ours_items[:GROUP]))
    r_ours, r_base = [], []
    for _ in range(repeat):
        rate, rewards_ours = asyncio.run(score_all(ours.rubric, ours_items))
        r_ours.append(rate)
        rate, rewards_base = asyncio.run(score_all(base.rubric, base_items))
        r_base.append(rate)
    agree = sum(abs(a - b) < 1e-9 for a, b in zip(rewards_ours, rewards_base)) / len(rewards_ours)
    return statistics.median(r_ours), statistics.median(r_base), len(pairs), agree


STEP_ROLLOUTS = 512
# One H100 generating a 512-rollout step, for the comparison (docs/grpo.md says where the figures come
# from): vLLM output throughput of Llama-3.1-8B BF16 on 1xH100, ~12,500 tok/s (published third-party
# benchmark), and 4x that for a ~1.5B model (our assumption, not a measurement); 256 completion tokens.
H100_TOKENS_PER_S = {"~8B model (published)": 12_500, "~1.5B model (assumed 4x)": 50_000}
COMPLETION_TOKENS = 256


def exec_items(task: str, n_rollouts: int) -> list[tuple]:
    """Rollouts as the rubric sends them: half gold, half another item's gold (well-formed, wrong)."""
    import dataclasses

    from reasoning_gym.factory import create_dataset

    n_items = max(2, n_rollouts // GROUP)
    ds = create_dataset(task, size=n_items, seed=EVAL_SEED_OFFSET)
    cfg = serialization.dumps({f.name: getattr(ds.config, f.name) for f in dataclasses.fields(ds.config)})
    entries = [ds[i] for i in range(n_items)]
    items = []
    for i, entry in enumerate(entries):
        answers = [entry["answer"], entries[(i + 1) % n_items]["answer"]]
        for g in range(GROUP):
            items.append((task, cfg, serialization.dumps(entry), str(answers[g % 2])))
    return items[:n_rollouts]


TIMEOUTS: dict[str, int] = {}  # per task: answers that ran past the scorer's time limit (score 0, worker restarted)


def rate(scorer: Scorer, items: list[tuple]) -> float:
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        results = scorer.score_many(items)
        elapsed = time.perf_counter() - t0
    finally:
        gc.enable()
    # a timeout is part of what scoring this task costs: counted, not hidden
    TIMEOUTS[items[0][0]] = TIMEOUTS.get(items[0][0], 0) + sum(r.status == "timeout" for r in results)
    return len(items) / elapsed


def worker_rss_mb(scorer: Scorer) -> tuple[float, float]:
    """(current, peak) resident MB of the scorer's workers, the largest of each."""
    cur = peak = 0.0
    for w in scorer.pool.workers:
        with open(f"/proc/{w.proc.pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        cur = max(cur, int(fields["VmRSS"].split()[0]) / 1024)
        peak = max(peak, int(fields["VmHWM"].split()[0]) / 1024)
    return cur, peak


def scaling(repeat: int) -> None:
    one = Scorer(mode="sandbox", workers=1)
    two = Scorer(mode="sandbox", workers=2)
    try:
        one.pool.warm_up(background=False)
        two.pool.warm_up(background=False)
        print(f"one worker, {GROUP * 16} rollouts per task (median of {repeat}):")
        print(f"{'task':28} {'rollouts/s per worker':>22} {'timeouts':>9}")
        per_task = {}
        for task in sorted(EXEC_SCORERS):
            items = exec_items(task, GROUP * 16)
            rate(one, items[:GROUP])  # the task's first dataset build is not scoring
            per_task[task] = statistics.median(rate(one, items) for _ in range(repeat))
            print(f"{task:28} {per_task[task]:22.1f} {TIMEOUTS.get(task, 0):9d}", flush=True)
        rss, peak = worker_rss_mb(one)
        print(f"worker resident memory after all of them: {rss:.0f} MB (peak {peak:.0f} MB); "
              f"sizing.WORKER_RSS_MB = {WORKER_RSS_MB}")
        slowest = min(per_task, key=per_task.get)
        items = exec_items(slowest, STEP_ROLLOUTS)
        rate(two, items[:2 * GROUP])
        TIMEOUTS.clear()
        r1, r2 = [], []
        for _ in range(repeat):  # alternated, so both see the same machine load
            r1.append(rate(one, items))
            r2.append(rate(two, items))
        r1m, r2m = statistics.median(r1), statistics.median(r2)
        cores = usable_cores()
        print(f"\nslowest: {slowest}, a {STEP_ROLLOUTS}-rollout step (median of {repeat}, this machine: {cores} cores; "
              f"{TIMEOUTS.get(slowest, 0)} timeouts in {2 * repeat * STEP_ROLLOUTS} answers)")
        print(f"1 worker   {r1m:8.0f} rollouts/s   {STEP_ROLLOUTS / r1m:6.2f} s per step")
        print(f"2 workers  {r2m:8.0f} rollouts/s   {STEP_ROLLOUTS / r2m:6.2f} s per step")
        efficiency = r2m / (2 * r1m)
        print(f"ratio 2 / 1 workers: {r2m / r1m:.2f}x (scaling efficiency {efficiency:.0%}; 2 cores shared "
              f"with this process and the machine's other users)")
        print(f"default worker count here: {default_workers(cores, available_memory_mb())}")
        print(f"\nESTIMATE, not measured: default workers on a larger node (memory assumed ample), each at the "
              f"1-worker rate times the 2-worker efficiency measured above")
        for n_cores in (32, 64):
            workers = default_workers(n_cores, 512 * 1024)
            est = r1m * workers * min(1.0, efficiency)
            print(f"{n_cores} cores -> {workers} workers: ~{est:,.0f} rollouts/s, ~{STEP_ROLLOUTS / est:.2f} s per "
                  f"{STEP_ROLLOUTS}-rollout step")
        print(f"\none H100 generating the same step ({COMPLETION_TOKENS} completion tokens per rollout):")
        for what, tps in H100_TOKENS_PER_S.items():
            print(f"{what:26} {tps:>7,} tok/s -> {STEP_ROLLOUTS * COMPLETION_TOKENS / tps:5.2f} s per step")
    finally:
        one.close()
        two.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scaling", action="store_true", help="sandboxed workers: rollouts/s per worker, 1 vs 2 workers")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    if args.scaling:
        scaling(args.repeat)
        return
    print(f"{'class':7} {'task':26} {'rollouts':>8} {'ours r/s':>10} {'baseline r/s':>13} {'ratio':>7} {'same rewards':>12}")
    for cls, (tasks, n) in CLASSES.items():
        ratios = []
        for task in tasks:
            ours, base, items, agree = bench_task(task, n, args.repeat)
            ratios.append(ours / base)
            print(f"{cls:7} {task:26} {items * GROUP:8d} {ours:10.0f} {base:13.0f} {ours / base:6.2f}x {agree:12.0%}", flush=True)
        print(f"{cls:7} {'geometric mean ratio':26} {'':8} {'':10} {'':13} {statistics.geometric_mean(ratios):6.2f}x")


if __name__ == "__main__":
    main()
