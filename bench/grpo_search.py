"""One row of the GRPO-after-warm-up search (bench/grpo_search.md): GRPO from a warmed-up checkpoint.

The warm-up of the main job (train_ultra_minimal.py) is deterministic for a seed, so the search runs
it once and starts every GRPO setting from its merged weights (`<run>/warmup`): the step-0 eval of
such a run IS the post-warm-up eval. Prints the eval at every eval step, the GRPO wall time and the
share of zero-spread groups; the whole-pipeline wall = this + the warm-up run's time before GRPO.

    .venv/bin/python bench/grpo_search.py WARMUP_DIR OUT_DIR [key=value ...]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str]) -> int:
    warm, out, overrides = argv[0], Path(argv[1]), argv[2:]
    cmd = [sys.executable, "train_minimal.py", "configs/experiments/ultra_minimal_cpu.yaml",
           f"model.name_or_path={warm}", "warmup.enabled=false", f"training.output_dir={out}", *overrides]
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if done.returncode:
        print(done.stderr[-3000:], file=sys.stderr)
        return done.returncode
    evals = sorted((json.loads(p.read_text()) for p in (out / "eval_results").glob("eval_step_*.json")),
                   key=lambda e: e["step"])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "reward" in r]
    zero = statistics.fmean(r["frac_reward_zero_std"] for r in steps) if steps else float("nan")
    step_s = statistics.median(r["step_time"] for r in steps if "step_time" in r) if steps else float("nan")
    print(" ".join(overrides))
    print("  evals: " + ", ".join(f"step {e['step']}: {100 * e['accuracy']:.1f}% (pf {100 * e['parse_failure_rate']:.0f}%)"
                                  for e in evals))
    print(f"  train reward first/last 5 steps: {statistics.fmean(r['reward'] for r in steps[:5]):.3f} -> "
          f"{statistics.fmean(r['reward'] for r in steps[-5:]):.3f}; zero-spread groups {100 * zero:.0f}%; "
          f"median s/step {step_s:.1f}; wall {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
