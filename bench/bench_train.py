"""Seconds per CPU training step: our TRL path vs a plain TRL script with identical settings.

Both run in this process on the embedded model with the same env object (same prompts), seed
and GRPOConfig (batch 8 = 2 prompts x 4 generations, 64 new tokens, fp32, 1 thread). Generation
dominates a CPU step, so both must generate the same tokens: the plain script's reward is
-len/2000 and ours is the registry's `brevity` (1 - len/2000); GRPO's group-normalised advantages
are the same for both, so both models follow the same trajectory. Ours still runs everything
else of its path per step: the reward adapters, the parse-failure and per-task scoring metrics
(sandboxed scorer), the metrics file. TRL's per-step `step_time` is compared (the fixed-set eval
is off). ratio = ours / plain (goal <= 1.05, TRL's per-row path on both sides).

Then ours again with `training.shared_prefix=true` (the default: each group's prompt runs through the
model once, shared_prefix.py): the same tokens, rewards and updates, fewer FLOPs; that ratio is the
CPU step's speed-up.

    .venv/bin/python bench/bench_train.py [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
STEPS_SKIPPED = 1  # the first step pays one-off costs (allocator, lazy imports) on both sides


def make_env():
    from rg_verifiers.env import load_rg_environment

    return load_rg_environment("leg_counting", num_train_examples=64, num_eval_examples=1,
                               config={"min_animals": 1, "max_animals": 1, "min_instances": 1, "max_instances": 2})


def ours(steps: int, out: str, shared_prefix: bool = False) -> list[dict]:
    from rg_verifiers.config import load_config
    from rg_verifiers.train.run import train

    # the plain script's settings, pinned: the main job's config moves (LoRA, 4 x 8, 16 tokens since issue 18)
    cfg = load_config("configs/experiments/ultra_minimal_cpu.yaml",
                      ["model.lora.enabled=false", "warmup.enabled=false", "training.learning_rate=2e-5",
                       "training.per_device_train_batch_size=8", "training.num_generations=4",
                       "training.max_completion_length=64", "training.temperature=1.0", "training.seed=42",
                       f"training.max_steps={steps}", f"training.output_dir={out}", "training.eval_steps=null",
                       "rewards=[brevity]", "data.num_eval_examples=0", f"training.save_steps={steps * 10}",
                       f"training.shared_prefix={str(shared_prefix).lower()}"])
    env = make_env()
    env.eval_dataset = None  # no fixed-set eval: compare training steps only
    train(cfg, env=env)
    return [json.loads(line) for line in open(f"{out}/metrics.jsonl") if '"step_time"' in line]


def plain(steps: int, out: str) -> list[dict]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rg_verifiers.embedded import hf_model_dir

    torch.set_num_threads(1)
    env = make_env()
    kept: list[dict] = []

    class Keep(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "step_time" in logs:
                kept.append(dict(logs))

    args = GRPOConfig(output_dir=out, max_steps=steps, learning_rate=2e-5, per_device_train_batch_size=8,
                      gradient_accumulation_steps=1, num_generations=4, max_completion_length=64, temperature=1.0,
                      beta=0.0, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, bf16=False,
                      seed=42, disable_tqdm=True)
    model_dir = str(hf_model_dir())

    def length_reward(completions, **kwargs):
        return [-len(c[-1]["content"]) / 2000 for c in completions]

    trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32),
                          reward_funcs=[length_reward], args=args, train_dataset=env.dataset.select_columns(["prompt"]),
                          processing_class=AutoTokenizer.from_pretrained(model_dir), callbacks=[Keep()])
    trainer.train()
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    results = {}
    runs = (("plain TRL", plain), ("rg-verifiers", ours),
            ("shared prefix", lambda steps, out: ours(steps, out, shared_prefix=True)))
    for name, fn in runs:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            logs = fn(args.steps, out)
            wall = time.perf_counter() - t0
        timed = logs[STEPS_SKIPPED:]
        step = statistics.median(x["step_time"] for x in timed)
        tokens = (timed[-1]["num_tokens"] - logs[STEPS_SKIPPED - 1]["num_tokens"]) / sum(x["step_time"] for x in timed)
        results[name] = step
        print(f"{name:13} median s/step {step:6.2f}   tokens/s {tokens:6.1f}   (steps {len(logs)}, wall {wall:.0f} s)", flush=True)
    print(f"ratio rg-verifiers / plain TRL: {results['rg-verifiers'] / results['plain TRL']:.3f}x (goal <= 1.05)")
    print(f"ratio shared prefix / rg-verifiers per-row: {results['shared prefix'] / results['rg-verifiers']:.3f}x")


if __name__ == "__main__":
    sys.exit(main())
