"""The reasoning-vocabulary commands (`python -m rg_verifiers.reasoning_vocab ...`): write the expanded
checkpoint a GPU run's vf-vllm serves, and evaluate a checkpoint on its run's fixed eval split. They
read training configs and run the training evaluation, so they live with training; the vocabulary
itself (`rg_verifiers.reasoning_vocab`) stays below the environment, which decodes with it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config.loader import load_config
from ..errors import RGVError
from ..reasoning_vocab import prepare
from .evaluation import evaluate_rows, hf_generate
from .run import build_env, resolve_model


def evaluate_checkpoint(checkpoint: str, config: str | None = None, limit: int | None = None) -> dict:
    """The fixed evaluation of a training run (same rows, prompts, parser, scorer, greedy transformers
    generation with the span rule) for one of its checkpoints: llama.cpp cannot serve a grown vocabulary."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(checkpoint)
    if not (folder / "config.json").is_file():
        raise RGVError(f"{checkpoint} is not a checkpoint folder (no config.json)")
    if config is None:
        found = [p / "config.yaml" for p in (folder, *folder.parents) if (p / "config.yaml").is_file()]
        if not found:
            raise RGVError(f"no config.yaml of a training run above {checkpoint}: pass --config CONFIG")
        config = str(found[0])
    cfg = load_config(config)
    torch.set_num_threads(cfg.training.num_threads)
    rows = list(build_env(cfg).eval_dataset or [])[:limit]
    if not rows:
        raise RGVError(f"{config} has no eval split (data.num_eval_examples=0)")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return {"checkpoint": str(folder), "config": config,
            **evaluate_rows(rows, hf_generate(model, tokenizer, cfg.training.max_completion_length), step=-1,
                            stage="checkpoint")}


def main(argv: list[str] | None = None) -> None:
    """`python -m rg_verifiers.reasoning_vocab CONFIG [overrides]`: write the expanded checkpoint a GPU
    run's vf-vllm serves (train_minimal.py --print-launch and rgv slurm train run it first).
    `python -m rg_verifiers.reasoning_vocab eval CHECKPOINT [--config C] [-n N]`: evaluate a checkpoint."""
    from rich.console import Console

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m rg_verifiers.reasoning_vocab CONFIG [key=value ...]\n"
              "       python -m rg_verifiers.reasoning_vocab eval CHECKPOINT [--config CONFIG] [-n N]")
        return
    if args[0] == "eval":
        p = argparse.ArgumentParser(prog="python -m rg_verifiers.reasoning_vocab eval")
        p.add_argument("checkpoint")
        p.add_argument("--config")
        p.add_argument("-n", type=int)
        a = p.parse_args(args[1:])
        report = evaluate_checkpoint(a.checkpoint, a.config, a.n)
        print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=1))
        return
    cfg = load_config(args[0], args[1:])
    console = Console(stderr=True)
    if cfg.model.reasoning_vocab_size <= 0:
        raise RGVError("model.reasoning_vocab_size is 0: there is no reasoning vocabulary to prepare")
    path = prepare(resolve_model(cfg.model.name_or_path, cfg.model.revision, console), cfg.model.reasoning_vocab_size,
                   cfg.training.output_dir, console=console)
    print(path)
