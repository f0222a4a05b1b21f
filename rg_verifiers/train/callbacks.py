"""Trainer callbacks shared by both backends (both trainers are transformers Trainers)."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

from rich.console import Console
from transformers import TrainerCallback

from .evaluation import evaluate_rows, write_eval


def peak_memory_mb() -> float:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() / 2**20
    except ImportError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class MetricsFileCallback(TrainerCallback):
    """Every log line (reward, per-task reward, parse failures, lengths, memory) into metrics.jsonl:
    the offline record whatever `report_to` is."""

    def __init__(self, out_dir: str):
        self.path = Path(out_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is not None:
            logs["peak_memory_mb"] = round(peak_memory_mb(), 1)
            with self.path.open("a") as f:
                f.write(json.dumps({"step": state.global_step, "time": time.time(), **logs}) + "\n")


def log_eval_to_wandb(report: dict) -> None:
    """The fixed eval into the active W&B run too, on the trainers' step axis (WandbCallback logs
    train/global_step with every line). Trainer.log cannot carry it: GRPOTrainer.log would flush the
    step's half-collected train metrics into it."""
    import sys

    wandb = sys.modules.get("wandb")  # only when a tracker imported it; never imports it here
    if wandb is None or getattr(wandb, "run", None) is None:
        return
    wandb.log({**eval_scalars(report), "train/global_step": report["step"]})


def eval_scalars(report: dict) -> dict:
    """The fixed eval's numbers, named as the trackers show them (eval_warmup/... for the warm-up's)."""
    values = {"eval/accuracy": report["accuracy"], "eval/parse_failure_rate": report["parse_failure_rate"]}
    for task, r in report.get("per_task", {}).items():
        values[f"eval/{task}/accuracy"] = r["accuracy"]
    if report.get("stage") == "warmup":
        values = {"eval_warmup/" + k[5:]: v for k, v in values.items()}
    return values


def log_eval_to_tensorboard(report: dict, callbacks) -> None:
    """The fixed eval into the run's TensorBoard event file, through the writer transformers'
    TensorBoardCallback opened (Trainer.log cannot carry it, as for W&B)."""
    from transformers.integrations import TensorBoardCallback

    for cb in callbacks or []:
        if not isinstance(cb, TensorBoardCallback):
            continue
        writer, own = cb.tb_writer, False
        if writer is None and getattr(cb, "logging_dir", None):
            # the final eval runs after TensorBoardCallback.on_train_end closed its writer: a second event
            # file in the same folder is the same TensorBoard run
            writer, own = cb._SummaryWriter(log_dir=cb.logging_dir), True
        if writer is not None:
            for name, value in eval_scalars(report).items():
                writer.add_scalar(name, value, report["step"])
            writer.close() if own else writer.flush()


class FixedEvalCallback(TrainerCallback):
    """Step 0, every `eval_steps`, and the final step, on the same eval rows.

    Step 0 is the baseline, or with `after_warmup` the warmed-up model (eval_warmup.json; the
    warm-up stage wrote the baseline before it trained)."""

    def __init__(self, rows, make_generate, out_dir: str, eval_steps: int | None, after_warmup: bool = False):
        self.rows, self.make_generate, self.out_dir, self.eval_steps = rows, make_generate, out_dir, eval_steps
        self.after_warmup = after_warmup
        self.done: set[int] = set()
        self.callbacks = None  # the trainer's callbacks (attach), for its TensorBoard writer
        self.console = Console(stderr=True)

    def _run(self, state, model) -> None:
        if state.global_step in self.done or not self.rows:
            return
        self.done.add(state.global_step)
        step = state.global_step
        stage = ("warmup" if self.after_warmup else "baseline") if step == 0 else "grpo"
        with self.console.status(f"evaluating {len(self.rows)} fixed eval items at step {step} ..."):
            report = evaluate_rows(self.rows, self.make_generate(model), step, stage=stage)
        path = write_eval(self.out_dir, report)
        baseline = Path(self.out_dir) / "eval_results" / "eval_step_0.json"
        reports = [report]
        if stage == "warmup" and baseline.is_file():  # written before the trainer (and its tracker) started
            reports.insert(0, json.loads(baseline.read_text()))
        for r in reports:
            log_eval_to_wandb(r)
            log_eval_to_tensorboard(r, self.callbacks)
        what = "after warm-up" if stage == "warmup" else f"step {step}"
        self.console.print(f"eval {what}: accuracy {report['accuracy']:.3f}, "
                           f"parse failures {report['parse_failure_rate']:.2f} -> {path}", markup=False)

    def attach(self, trainer) -> None:
        self.callbacks = trainer.callback_handler.callbacks

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0:  # a resumed run already has its baseline
            self._run(state, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.eval_steps and state.global_step % self.eval_steps == 0:
            self._run(state, model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._run(state, model)
