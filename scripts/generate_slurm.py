#!/usr/bin/env python
"""Write a Slurm GRPO training script (vf-vllm + accelerate, on one node or several).

Kept for users of the seed layout; `rgv slurm train` does the same. Examples:
    python scripts/generate_slurm.py configs/experiments/leg_counting_qwen1.5b.yaml my_account --gpus 4
    python scripts/generate_slurm.py configs/experiments/leg_counting_qwen1.5b.yaml my_account --gpus 8 --nodes 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    from rg_verifiers.slurm import SlurmError, render_train_script, write_script
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from rg_verifiers.slurm import SlurmError, render_train_script, write_script


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="training config YAML (model.name_or_path is served by vf-vllm)")
    p.add_argument("account", help="Slurm account to charge")
    p.add_argument("--gpus", type=int, default=4, help="GPUs per node (default 4)")
    p.add_argument("--inference-gpus", type=int, default=None,
                   help="GPUs of the first node for vf-vllm; one node: the rest train (default 2); "
                        "several nodes: must equal --gpus (the default), the other nodes train")
    p.add_argument("--partition", default="GPUQ")
    p.add_argument("--time", default="04:00:00", help="HH:MM:SS or D-HH:MM:SS")
    p.add_argument("--gpu-type", default="a100", help="gres GPU type; '' for untyped gres")
    p.add_argument("--cpus", type=int, default=16)
    p.add_argument("--memory", default="320G", help="per node")
    p.add_argument("--nodes", type=int, default=1, help=">= 2: vf-vllm on node 0, accelerate multi-node on the others")
    p.add_argument("--work-dir", default=".", help="directory the job cds into (repo root)")
    p.add_argument("--model", default=None, help="model.name_or_path for the server and the trainer (default: the config's)")
    p.add_argument("--port", type=int, default=None, help="vf-vllm HTTP port (default: free, chosen when the job starts)")
    p.add_argument("--group-port", type=int, default=None, help="weight-sync port (default: free, chosen when the job starts)")
    p.add_argument("--health-timeout", type=int, default=900, help="seconds to wait for vf-vllm")
    p.add_argument("--job-name", default=None, help="default: the config file name")
    p.add_argument("--accelerate-config", default=None,
                   help="accelerate launch --config-file (default configs/accelerate/zero3.yaml)")
    p.add_argument("--venv", default=".venv", help="activated when <venv>/bin/activate exists")
    p.add_argument("--output", "-o", default=None, help="default: slurm_<job_name>.sh")
    args = p.parse_args(argv)
    try:
        text = render_train_script(
            args.config, args.account, gpus=args.gpus, inference_gpus=args.inference_gpus,
            partition=args.partition, time=args.time, gpu_type=args.gpu_type, cpus=args.cpus,
            memory=args.memory, nodes=args.nodes, work_dir=args.work_dir, model=args.model,
            port=args.port, group_port=args.group_port, health_timeout=args.health_timeout, job_name=args.job_name,
            venv=args.venv, accelerate_config=args.accelerate_config,
        )
    except SlurmError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    job_name = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("#SBATCH --job-name="))
    out = write_script(text, args.output or f"slurm_{job_name}.sh")
    print(f"wrote {out}; submit with: mkdir -p logs && sbatch {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
