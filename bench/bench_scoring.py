"""Scoring throughput: our rubric vs verifiers' built-in ReasoningGymEnv on the same items.

Both rubrics score the same rollouts (gold completions for half the items, a wrong answer for the
other half) through verifiers' own Rubric.score_group, groups of 4 rollouts gathered
concurrently as vf-eval/the trainer do. Ours runs the risky scorers in 2 sandboxed workers
(started before timing: they live as long as the env); the baseline scores everything on the
event loop, regenerating each entry from its index as ReasoningGymEnv does.

    .venv/bin/python bench/bench_scoring.py [--repeat 5]
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

from rg_verifiers.data import EVAL_SEED_OFFSET
from rg_verifiers.env import load_rg_environment

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    logging.disable(logging.WARNING)
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
