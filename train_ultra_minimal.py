"""Ultra-minimal GRPO: load an rg environment by id, take a model, train, compare.

    python train_ultra_minimal.py [env-id] [key=value ...]

With no arguments and no GPU: a few GRPO steps of the embedded SmolLM2-135M on easy leg-counting,
on CPU (TRL backend), then the reward before and after. Outputs: outputs/ultra_minimal/.
"""

import json
import sys

import verifiers as vf

from rg_verifiers.config import load_config
from rg_verifiers.train.run import train

env_id = sys.argv[1] if len(sys.argv) > 1 and "=" not in sys.argv[1] else "rg-leg-counting"
env = vf.load_environment(env_id, num_train_examples=64, num_eval_examples=8,
                          config={"min_animals": 1, "max_animals": 1, "min_instances": 1, "max_instances": 2})
cfg = load_config("configs/experiments/ultra_minimal_cpu.yaml", [a for a in sys.argv[1:] if "=" in a])
result = train(cfg, env=env)

steps = [json.loads(line) for line in open(f"{cfg.training.output_dir}/metrics.jsonl") if '"reward"' in line]
evals = [json.load(open(f"{cfg.training.output_dir}/eval_results/eval_step_{s}.json")) for s in (0, result["global_step"])]
print(f"train reward  step 1: {steps[0]['reward']:.3f}  step {result['global_step']}: {steps[-1]['reward']:.3f}")
for e in evals:
    print(f"eval step {e['step']}: accuracy {e['accuracy']:.3f}  parse failures {e['parse_failure_rate']:.2f}")
