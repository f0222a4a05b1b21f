"""verifiers 0.1.9.post3's RLConfig / Orchestrator / RLTrainer, with the fixes vf_backend.py lists.

Importing this module imports RLTrainer's own dependencies (deepspeed, liger-kernel, wandb and vLLM's
weight-sync client), so only the verifiers backend imports it. Classes live at module level because
transformers pickles the training arguments into every checkpoint.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict

import verifiers as vf
from verifiers.rl.trainer import trainer as rl_module  # vf_backend swaps two names in it
from verifiers.rl.trainer.orchestrator import Orchestrator

from ..errors import RGVError


class RGVRLConfig(vf.RLConfig):
    def to_dict(self):
        # lora_config is a peft object: TrainingArguments.to_json_string (tensorboard, wandb) cannot dump it
        d = super().to_dict()
        if d.get("lora_config") is not None:
            d["lora_config"] = json.loads(json.dumps(self.lora_config.to_dict(), default=lambda o: sorted(o) if isinstance(o, set) else str(o)))
        return d


class RGVOrchestrator(Orchestrator):
    def __init__(self, *args, resume: bool = False, reward_names: tuple = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.resume, self.reward_names = resume, reward_names
        self.failures: dict[int, str] = {}

    def submit_batch(self, batch_id: int):
        if self.resume and batch_id == 0:
            return  # RLTrainer.__init__ asks for batch 0; RGVRLTrainer asks for the resumed step's batch
        super().submit_batch(batch_id)

    async def generate_batch(self, batch_id: int):
        batch = await super().generate_batch(batch_id)
        errors = [e for e in batch.errors if e is not None]
        if batch.global_item_count <= 0:  # RLTrainer would take a zero-loss step and go on
            if errors:
                cause = errors[0].__cause__ or errors[0]
                why = (f"{len(errors)} of {len(batch.errors)} rollouts failed; first: {type(errors[0]).__name__}: "
                       f"{type(cause).__name__}: {' '.join(str(cause).split())[:500]}")
            else:
                why = ("no rollout came back with token ids and logprobs: every prompt was longer than the "
                       "server's --max-model-len allows with training.max_completion_length, or the server is not vf-vllm")
            self.failures[batch_id] = why
        batch.metrics_dict.update(self._training_metrics(batch, len(errors)))
        return batch

    def get_batch(self, batch_id: int):
        batch = super().get_batch(batch_id)
        if batch_id in self.failures:
            raise RGVError(f"batch {batch_id} has no trainable tokens: {self.failures[batch_id]}")
        return batch

    def _training_metrics(self, batch, n_errors: int) -> dict[str, float]:
        """The TRL backend's metric names (metrics.jsonl is the same file whichever backend ran)."""
        rewards = batch.rewards_dict.get("reward") or []
        out: dict[str, float] = {"rollout_error_rate": n_errors / max(1, len(batch.errors))}
        if not rewards:
            return out
        out["reward"] = statistics.fmean(rewards)
        out["reward_std"] = statistics.pstdev(rewards)
        for name in self.reward_names:
            values = batch.rewards_dict.get(name) or []
            if values:
                out[f"rewards/{name}/mean"] = statistics.fmean(values)
                out[f"rewards/{name}/std"] = statistics.pstdev(values)
        if batch.rewards_dict.get("parse_failure"):
            out["parse_failure"] = statistics.fmean(batch.rewards_dict["parse_failure"])
        # rollouts are the batch's prompts repeated rollouts_per_example times, in order
        groups: dict[int, list[float]] = defaultdict(list)
        prompts = len(rewards) // self.rollouts_per_example
        for i, r in enumerate(rewards):
            groups[i % prompts if prompts else 0].append(r)
        out["frac_reward_zero_std"] = statistics.fmean(float(max(g) == min(g)) for g in groups.values())
        by_task: dict[str, list[float]] = defaultdict(list)
        for info, score in zip(self._batch_infos(batch_id=batch.batch_id), batch.rewards_dict.get("correct") or []):
            by_task[info["rg_task"]].append(score)
        for task, scores in by_task.items():
            out[f"task_reward/{task}"] = statistics.fmean(scores)
        lengths = [len(self.processing_class.encode(_text(c), add_special_tokens=False)) for c in batch.completions]
        if lengths:
            out.update({"completions/mean_length": statistics.fmean(lengths), "completions/min_length": min(lengths),
                        "completions/max_length": max(lengths)})
        return out

    def _batch_infos(self, batch_id: int) -> list[dict]:
        rows = self.get_dataset_slice(batch_id)
        return [rows[i]["info"] for i in range(len(rows))] * self.rollouts_per_example


class RGVRLTrainer(vf.RLTrainer):
    def __init__(self, *args, resume_step: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.resume_step = resume_step
        self.server_policy_step = -1  # global_step whose weights the server holds (-1: unknown)

    def training_step(self, model, *args, **kwargs):
        if self.resume_step and self.state.global_step == self.resume_step:
            # first step after a resume: push the resumed weights, then generate this step's batch
            self.update_vllm()
            if self.orchestrator:
                self.orchestrator.submit_batch(self.state.global_step)
            self.resume_step = 0
        return super().training_step(model, *args, **kwargs)

    def update_vllm(self):
        if self.state.global_step == self.server_policy_step:
            return  # pushed for an evaluation at this step already
        super().update_vllm()
        self.server_policy_step = self.state.global_step


def _text(completion) -> str:
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if m.get("role") == "assistant")
    return str(completion or "")


__all__ = ["RGVOrchestrator", "RGVRLConfig", "RGVRLTrainer", "rl_module"]
