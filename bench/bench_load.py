"""load_environment time per task (default 10k train / 1k eval) vs verifiers' ReasoningGymEnv.

For each task: our eval split on a cold cache (what vf-eval waits for: the train split is
built lazily), the train split on first use, the same load on a warm cache, and the baseline
ReasoningGymEnv(task, 10000, 1000), which builds both splits eagerly, without de-duplication.
ratio = baseline / (ours cold eval + train): > 1 means ours is faster end to end. A config whose
distinct questions run out (tower_of_hanoi's defaults have ~90) prints its one-line error.

    .venv/bin/python bench/bench_load.py [--tasks t1 t2 ...] [--all] [--train 10000] [--eval 1000]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time

if os.environ.get("PYTHONHASHSEED") != "0":  # same items as our workers generate
    os.execve(sys.executable, [sys.executable, *sys.argv], dict(os.environ, PYTHONHASHSEED="0"))

DEFAULT_TASKS = ["leg_counting", "basic_arithmetic", "spell_backward", "gsm_symbolic", "arc_agi", "tower_of_hanoi",
                 "word_ladder", "game_of_life"]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="*", default=DEFAULT_TASKS)
    ap.add_argument("--all", action="store_true", help="every task (slow generators take many minutes at 10k)")
    ap.add_argument("--train", type=int, default=10_000)
    ap.add_argument("--eval", type=int, default=1_000)
    args = ap.parse_args()
    os.environ["RGV_CACHE_DIR"] = tempfile.mkdtemp(prefix="rgv-bench-cache-")
    logging.disable(logging.WARNING)
    from verifiers.envs.integrations.reasoninggym_env import ReasoningGymEnv

    from rg_verifiers.env import load_rg_environment
    from rg_verifiers.tasks import task_names

    tasks = task_names() if args.all else args.tasks
    print(f"{args.train} train / {args.eval} eval rows; seconds")
    print(f"{'task':24} {'eval cold':>9} {'train':>8} {'warm':>7} {'baseline':>9} {'ratio':>7} {'rows train/eval':>16}")
    from rg_verifiers.errors import RGVError

    for task in tasks:
        try:
            bench_task(task, args, load_rg_environment, ReasoningGymEnv)
        except RGVError as exc:
            print(f"{task:24} {exc}")


def bench_task(task, args, load_rg_environment, ReasoningGymEnv):
    env, t_eval = timed(lambda: load_rg_environment(task, num_train_examples=args.train, num_eval_examples=args.eval))
    train, t_train = timed(lambda: env.dataset)
    _, t_warm = timed(lambda: load_rg_environment(task, num_train_examples=args.train, num_eval_examples=args.eval).dataset)
    _, t_base = timed(lambda: ReasoningGymEnv(task, num_train_examples=args.train, num_eval_examples=args.eval))
    print(f"{task:24} {t_eval:9.2f} {t_train:8.2f} {t_warm:7.2f} {t_base:9.2f} {t_base / (t_eval + t_train):6.2f}x "
          f"{len(train):>8}/{len(env.eval_dataset)}", flush=True)

if __name__ == "__main__":
    main()
