"""GRPO from a config file, on CPU (TRL) or GPUs (verifiers RLTrainer + vf-vllm).

    python train_minimal.py <config.yaml> [key=value ...] [model=NAME] [tasks=NAME]
    python train_minimal.py                          (configs/experiments/leg_counting_embedded_cpu.yaml)
    python train_minimal.py <config.yaml> --print-launch [--gpus 4 --inference-gpus 2]   (default: the config's launch:)

Configs compose with `_base_` (see configs/ and rg_verifiers/config/schema.py for every field).
Rewards come from the registry by name, with weights (rg_verifiers/rewards.py).
"""

import argparse
import json
import sys
from pathlib import Path

from rg_verifiers.config import load_config
from rg_verifiers.errors import RGVError


DEFAULT_CONFIG = "configs/experiments/leg_counting_embedded_cpu.yaml"


def launch_commands(config: str, overrides: list[str], gpus: int | None = None,
                    inference_gpus: int | None = None) -> list[str]:
    """The prepare (if any), vf-vllm and accelerate commands; GPUs not given come from the config's `launch:`."""
    import shlex

    from rg_verifiers.train.launch import accelerate_command, prepare_args, vf_vllm_command

    cfg = load_config(config, overrides)
    if gpus is None and inference_gpus is None:
        gpus, inference_gpus = cfg.launch.gpus, cfg.launch.inference_gpus
        print(f"GPU layout from the config (launch:): {gpus} GPUs, {inference_gpus} for vf-vllm, "
              f"{gpus - inference_gpus} training; --gpus/--inference-gpus change it", file=sys.stderr)
    elif gpus is None:
        gpus = cfg.launch.gpus
    elif inference_gpus is None:
        inference_gpus = min(cfg.launch.inference_gpus, gpus - 1) or 1
    if gpus < 2:
        raise RGVError(f"--gpus must be >= 2 (vf-vllm and the trainer each need one), got {gpus}")
    if not 0 < inference_gpus < gpus:
        raise RGVError(f"--inference-gpus must be between 1 and --gpus - 1 ({gpus - 1}), got {inference_gpus}")
    server_gpus = ",".join(map(str, range(inference_gpus)))
    trainer_gpus = ",".join(map(str, range(inference_gpus, gpus)))
    prepare = prepare_args(cfg, config, overrides)  # model.reasoning_vocab_size: the checkpoint vf-vllm serves
    return ([shlex.join(prepare)] if prepare else []) + [
        vf_vllm_command(cfg, server_gpus, inference_gpus),
        accelerate_command(config, trainer_gpus, gpus - inference_gpus, overrides)]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=None,
                        help=f"experiment config (default: {DEFAULT_CONFIG}, the embedded model on CPU)")
    parser.add_argument("overrides", nargs="*", help="key=value, model=NAME, tasks=NAME")
    parser.add_argument("--print-launch", action="store_true", help="print the vf-vllm + accelerate commands and exit")
    parser.add_argument("--gpus", type=int, default=None, help="GPUs in all (default: the config's launch.gpus)")
    parser.add_argument("--inference-gpus", type=int, default=None,
                        help="the first GPUs, for vf-vllm (default: the config's launch.inference_gpus)")
    args = parser.parse_intermixed_args(argv)  # overrides may come after --print-launch too
    if args.config is not None and "=" in args.config and not Path(args.config).is_file():
        args.overrides.insert(0, args.config)  # `python train_minimal.py key=value ...`: the default config
        args.config = None
    if args.config is None:  # the bare `python train_minimal.py` of the verifiers seed: a CPU smoke run
        args.config = str(Path(__file__).resolve().parent / DEFAULT_CONFIG)
        print(f"no config given: training with {DEFAULT_CONFIG}", file=sys.stderr)
    if args.print_launch:
        print("\n".join(launch_commands(args.config, args.overrides, args.gpus, args.inference_gpus)))
        return
    from rg_verifiers.train.run import train

    print(json.dumps(train(load_config(args.config, args.overrides)), indent=1, default=str))


if __name__ == "__main__":
    from rg_verifiers.envfile import load_env_file
    from rg_verifiers.errors import run_cli

    run_cli(load_env_file)  # WANDB_API_KEY, HF_TOKEN, ... for every rank accelerate starts
    # bad input (configs, overrides, paths) ends in one `error:` line, like `rgv`; bugs keep a traceback
    run_cli(main, sys.argv[1:])
