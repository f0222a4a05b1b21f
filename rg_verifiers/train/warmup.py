"""Supervised format warm-up before GRPO (`warmup:` in the config), for both backends.

A model that never writes `<answer>` tags gets a correctness reward of 0 on every rollout, so GRPO
has nothing to compare (measured: SmolLM2-135M tags 0 of 64 samples). A few supervised steps on
`<answer>{reference}</answer>` for TRAIN-split questions teach the format; GRPO then optimises the
task's own score. Loss is on the completion only (TRL's SFTTrainer, prompt-completion data).

The stage writes `eval_results/eval_step_0.json` (stage "baseline": the model before the warm-up);
the GRPO trainer's first evaluation, at its step 0, is then the warmed-up model (stage "warmup",
`eval_warmup.json`), so each stage's effect is reported separately. The result is a plain
checkpoint (`<output_dir>/warmup`, LoRA adapters merged) that GRPO starts from.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from ..config import ExperimentConfig
from ..errors import RGVError
from ..references import reference_answer
from .. import serialization
from .callbacks import MetricsFileCallback
from .evaluation import Generate, evaluate_rows, write_eval
from .launch import is_main_process

WARMUP_DIR = "warmup"


def warmup_rows(dataset, limit: int | None = None) -> list[dict]:
    """Prompt-completion rows from the train split: the environment's own prompt, the reference
    answer in the tag format the parser reads. Items without a reference are left out."""
    rows = []
    for row in dataset:
        info = row["info"]
        gold = reference_answer(info["rg_task"], serialization.loads(info["entry"]))
        if gold is not None:
            rows.append({"prompt": row["prompt"], "completion": [{"role": "assistant", "content": f"<answer>{gold}</answer>"}]})
        if limit is not None and len(rows) >= limit:
            break
    if not rows:
        raise RGVError("warmup.enabled=true, but no train item has a reference answer to imitate "
                       "(verifier-scored tasks such as boxnet): set warmup.enabled=false")
    return rows


class _WarmupMetrics(MetricsFileCallback):
    """Warm-up log lines in the run's metrics.jsonl, keys prefixed `warmup/` so curves tell the stages apart."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is not None:
            logs = {"stage": "warmup", **{f"warmup/{k}": v for k, v in logs.items()}}
        super().on_log(args, state, control, logs=logs, **kwargs)


def run_warmup(cfg: ExperimentConfig, env, model_path: str, console,
               baseline: Callable[[object, object], Generate] | None, model_kwargs: dict) -> str:
    """Baseline eval (`baseline(model, tokenizer)` makes the generate function), then SFT; returns the folder
    GRPO starts from."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    w, t = cfg.warmup, cfg.training
    main = is_main_process()
    out = Path(t.output_dir) / WARMUP_DIR
    rows = warmup_rows(env.dataset, w.max_examples)
    from datasets import Dataset

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path, **model_kwargs)
    eval_rows = list(env.eval_dataset) if env.eval_dataset is not None else []
    if baseline is not None and eval_rows and main:
        with console.status(f"evaluating {len(eval_rows)} fixed eval items before the warm-up ..."):
            report = evaluate_rows(eval_rows, baseline(model, tokenizer), 0, stage="baseline")
        path = write_eval(t.output_dir, report)
        console.print(f"eval before warm-up: accuracy {report['accuracy']:.3f}, parse failures "
                      f"{report['parse_failure_rate']:.2f} -> {path}", markup=False)
    peft_config = None
    if w.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=w.lora_r, lora_alpha=2 * w.lora_r, lora_dropout=0.0, target_modules="all-linear",
                                 task_type="CAUSAL_LM")
    scratch = Path(t.output_dir) / "warmup_trainer"
    args = SFTConfig(
        output_dir=str(scratch), max_steps=w.max_steps, learning_rate=w.learning_rate,
        per_device_train_batch_size=w.per_device_train_batch_size, gradient_accumulation_steps=1,
        lr_scheduler_type="constant", warmup_steps=0, logging_steps=1, save_strategy="no", report_to="none",
        seed=t.seed, bf16=t.bf16, use_cpu=t.use_cpu or not torch.cuda.is_available(), disable_tqdm=True,
        max_length=t.max_prompt_length + t.max_completion_length, completion_only_loss=True,
        dataloader_num_workers=0,
    )
    console.print(f"[bold]warm-up:[/] {w.max_steps} supervised steps on {len(rows)} tagged train answers "
                  f"({'LoRA r=' + str(w.lora_r) if w.lora else 'all weights'}, lr {w.learning_rate:g})")
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[_WarmupMetrics(t.output_dir)] if main else [])
    trainer.train()
    saved = scratch / "final"
    trainer.save_model(str(saved))  # every rank takes part (ZeRO-3 gathers the weights)
    if main:
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        if w.lora:
            # merged from the saved adapter, so sharded (ZeRO-3) and single-process runs take one path
            from peft import PeftModel

            base = AutoModelForCausalLM.from_pretrained(model_path, **{**model_kwargs, "device_map": None})
            PeftModel.from_pretrained(base, str(saved)).merge_and_unload().save_pretrained(tmp)
        else:
            shutil.copytree(saved, tmp)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
        shutil.rmtree(scratch, ignore_errors=True)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()  # other ranks load the merged folder only once rank 0 wrote it
    del trainer, model
    return str(out)
