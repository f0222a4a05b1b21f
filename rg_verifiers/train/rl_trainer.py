"""verifiers 0.1.9.post3's RLConfig / Orchestrator / RLTrainer, with the fixes vf_backend.py lists.

Importing this module imports RLTrainer's own dependencies (deepspeed, liger-kernel, wandb and vLLM's
weight-sync client), so only the verifiers backend imports it. Classes live at module level because
transformers pickles the training arguments into every checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import random
import statistics
from collections import defaultdict

import verifiers as vf
from datasets import Dataset
from verifiers.rl.trainer import trainer as rl_module  # vf_backend swaps two names in it
from verifiers.rl.trainer.orchestrator import Orchestrator

from ..env import state_get
from ..errors import RGVError

logger = logging.getLogger(__name__)


class RGVRLConfig(vf.RLConfig):
    def to_dict(self):
        # lora_config is a peft object: TrainingArguments.to_json_string (tensorboard, wandb) cannot dump it
        d = super().to_dict()
        if d.get("lora_config") is not None:
            d["lora_config"] = json.loads(json.dumps(self.lora_config.to_dict(), default=lambda o: sorted(o) if isinstance(o, set) else str(o)))
        return d


class _RecordingEnv:
    """The env as the Orchestrator sees it, keeping the rollout states of the last `generate`.

    `generate` returns rollouts grouped and sorted by example_id, not in the batch's row order, and a
    Batch keeps only reward lists: a state, with its own info and metrics, is the one faithful
    pairing of a rollout with its task and curriculum level.

    With dynamic sampling (`sampler`) this is also where zero-spread groups are dropped: `generate` is
    the seam between the rollouts (with their group-normalised advantages) and the Batch the loss is
    built from, so what it returns is all the trainer ever sees.
    """

    _OWN = ("states", "all_states", "sampler", "stats")

    def __init__(self, env, sampler=None):
        object.__setattr__(self, "_env", env)
        object.__setattr__(self, "states", [])
        object.__setattr__(self, "sampler", sampler)
        object.__setattr__(self, "stats", None)
        object.__setattr__(self, "all_states", [])  # every round's, dropped groups included

    def __getattr__(self, name):
        return getattr(self._env, name)

    def __setattr__(self, name, value):
        if name in self._OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._env, name, value)

    async def generate(self, inputs, *args, **kwargs):
        if self.sampler is None:
            out = await self._env.generate(inputs, *args, **kwargs)
            self.states = self.all_states = list(out["state"])
            return out
        return await self._dynamic_sampling(inputs, *args, **kwargs)

    async def _dynamic_sampling(self, inputs, *args, **kwargs):
        from .dynamic_sampling import StepStats, has_spread

        sampler = self.sampler
        g = sampler.group_size
        stats = StepStats(groups_wanted=len(inputs) // g, group_size=g)
        kept: list[tuple[int, list[int]]] = []  # (round output index, rollout indices of one kept group)
        outputs = []
        for round_ in range(1 + sampler.max_extra_rounds):
            if round_:
                keep_rate = max(stats.groups_kept / stats.groups_generated, 1 / stats.groups_wanted)
                n = min(stats.groups_wanted, math.ceil(stats.missing / keep_rate))
                inputs = sampler.fresh_inputs(n, round_)
            out = await self._env.generate(inputs, *args, **kwargs)
            outputs.append(out)
            groups: dict[int, list[int]] = defaultdict(list)
            for i, state in enumerate(out["state"]):
                groups[state_get(state, "example_id", 0)].append(i)
            good = [idx for idx in groups.values() if has_spread([out["reward"][i] for i in idx])]
            room = stats.missing
            kept += [(len(outputs) - 1, idx) for idx in good[:room]]
            stats.add_round(kept=min(len(good), room), generated=len(groups), filtered=len(groups) - len(good))
            # every round's scores, the dropped groups' too: a task whose groups are all solved is one to raise
            sampler.on_round(list(out["state"]))
            if not stats.missing:
                break
        self.stats = stats
        self.all_states = [s for out in outputs for s in out["state"]]
        picked = [(k, i) for k, idx in kept for i in idx]
        self.states = [outputs[k]["state"][i] for k, i in picked]
        return _pick_rollouts(outputs, picked)


def _pick_rollouts(outputs: list[dict], picked: list[tuple[int, int]]) -> dict:
    """One GenerateOutputs of the rollouts `picked` ((output, index) pairs), in that order."""
    joined: dict = {}
    for key, first in outputs[0].items():
        if key == "metrics":
            joined[key] = {name: [outputs[k][key][name][i] for k, i in picked] for name in first}
        elif isinstance(first, list):
            joined[key] = [outputs[k][key][i] for k, i in picked]
        else:  # metadata: the first round's
            joined[key] = first
    return joined


class DynamicSampler:
    """What dynamic sampling needs from the Orchestrator: fresh prompt rows and the curriculum."""

    def __init__(self, orchestrator, max_extra_rounds: int, seed: int):
        self.orchestrator, self.max_extra_rounds = orchestrator, max_extra_rounds
        self.group_size = orchestrator.rollouts_per_example
        self.rng = random.Random(f"rgv:{seed}:dynamic")
        self.batch_id = 0

    def fresh_inputs(self, n_groups: int, round_: int):
        o = self.orchestrator
        step = self.batch_id + 1
        if o.curriculum is not None:
            rows = o.curriculum.draw([self.rng.randrange(o.curriculum.num_slots) for _ in range(n_groups)], step=step)
            ds = o.env._format_dataset(Dataset.from_list(rows))
        else:
            full = o.env.get_dataset()
            ds = full.select([self.rng.randrange(len(full)) for _ in range(n_groups)])
        # example ids distinct from every other round's and batch's: generate() groups rollouts by them
        base = (round_ * 1_000_003 + self.batch_id) * o.prompts_per_batch * 4
        ds = Dataset.from_list([{**r, "example_id": base + i} for i, r in enumerate(ds.to_list())])
        return ds.repeat(self.group_size)

    def on_round(self, states: list) -> None:
        self.orchestrator._report_curriculum(states, self.batch_id)


class RGVOrchestrator(Orchestrator):
    def __init__(self, *args, resume: bool = False, reward_names: tuple = (), curriculum=None, completion_log=None,
                 dynamic_sampling=None, seed: int = 0, **kwargs):
        self.completion_log = completion_log  # before super().__init__: it may start generating batch 0
        super().__init__(*args, **kwargs)
        self.resume, self.reward_names, self.curriculum = resume, reward_names, curriculum
        self.failures: dict[int, str] = {}
        self.skipped: dict[int, dict] = {}  # batch id -> metrics of a batch dynamic sampling left empty
        sampler = None
        if dynamic_sampling is not None and dynamic_sampling.enabled:
            sampler = DynamicSampler(self, dynamic_sampling.max_extra_rounds, seed)
        self.env = _RecordingEnv(self.env, sampler)

    def get_dataset_slice(self, batch_id: int):
        if self.curriculum is None:
            return super().get_dataset_slice(batch_id)
        n = self.prompts_per_batch
        rows = self.curriculum.draw([(batch_id * n + i) % self.curriculum.num_slots for i in range(n)], step=batch_id + 1)
        # distinct example ids in row order: generate() groups rollouts by example_id
        rows = [{**r, "example_id": batch_id * n + i} for i, r in enumerate(rows)]
        return self.env._format_dataset(Dataset.from_list(rows))

    def submit_batch(self, batch_id: int):
        if self.resume and batch_id == 0:
            # RLTrainer.__init__ asks for batch 0 with the server's stale weights; RGVRLTrainer asks for
            # the step's batch once it pushed its own (the resumed step's, or batch 0 after a warm-up)
            self.resume = False
            return
        super().submit_batch(batch_id)

    async def generate_batch(self, batch_id: int):
        if self.env.sampler is not None:
            self.env.sampler.batch_id = batch_id
        batch = await super().generate_batch(batch_id)
        errors = [e for e in batch.errors if e is not None]
        stats = self.env.stats if self.env.sampler is not None else None
        if stats is not None:
            batch.metrics_dict.update(stats.metrics())
            if stats.missing:
                logger.warning("dynamic sampling: batch %d trains on %d of %d groups (%d generation rounds)", batch_id,
                               stats.groups_kept, stats.groups_wanted, stats.rounds)
        if stats is not None and stats.groups_kept == 0 and not any(state_get(s, "error") for s in self.env.all_states):
            # every group of every round was dropped: a step without update, its metrics still logged
            self.skipped[batch_id] = dict(batch.metrics_dict)
        elif batch.global_item_count <= 0:  # RLTrainer would take a zero-loss step and go on
            if errors:
                cause = errors[0].__cause__ or errors[0]
                why = (f"{len(errors)} of {len(batch.errors)} rollouts failed; first: {type(errors[0]).__name__}: "
                       f"{type(cause).__name__}: {' '.join(str(cause).split())[:500]}")
            else:
                why = ("no rollout came back with token ids and logprobs: every prompt was longer than the "
                       "server's --max-model-len allows with training.max_completion_length, or the server is not vf-vllm")
            self.failures[batch_id] = why
        states = self.env.states
        batch.metrics_dict.update(self._training_metrics(batch, len(errors), states))
        if self.completion_log is not None:
            self.completion_log.write(
                batch_id + 1, [state_get(s, "prompt") for s in states], [state_get(s, "completion") for s in states],
                [state_get(s, "info") or {} for s in states],
                {name: [float((state_get(s, "metrics") or {}).get(name, 0.0)) for s in states] for name in self.reward_names},
                total=[state_get(s, "reward") for s in states])
        if self.env.sampler is None:  # with dynamic sampling each round reported its own (on_round)
            self._report_curriculum(states, batch_id)
        return batch

    def _report_curriculum(self, states: list, batch_id: int) -> None:
        if self.curriculum is None:
            return
        from .curriculum import LEVEL_KEY

        # a failed request says nothing about the policy's accuracy
        results = [(info["rg_task"], info.get(LEVEL_KEY), correct == 1.0) for info, correct, error in
                   ((state_get(s, "info") or {}, (state_get(s, "metrics") or {}).get("correct"), state_get(s, "error")) for s in states)
                   if error is None and correct is not None and "rg_task" in info]
        self.curriculum.report(results, step=batch_id + 1)

    def get_batch(self, batch_id: int):
        batch = super().get_batch(batch_id)
        if batch_id in self.failures:
            raise RGVError(f"batch {batch_id} has no trainable tokens: {self.failures[batch_id]}")
        return batch

    def _training_metrics(self, batch, n_errors: int, states: list) -> dict[str, float]:
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
        # a prompt's rollouts share its example_id (generate() returns them grouped, sorted by it)
        groups: dict[int, list[float]] = defaultdict(list)
        for state, r in zip(states, rewards):
            groups[state_get(state, "example_id", 0)].append(r)
        out["frac_reward_zero_std"] = statistics.fmean(float(max(g) == min(g)) for g in groups.values())
        by_task: dict[str, list[float]] = defaultdict(list)
        for state in states:
            info, score = state_get(state, "info") or {}, (state_get(state, "metrics") or {}).get("correct")
            if score is not None and "rg_task" in info:
                by_task[info["rg_task"]].append(score)
        for task, scores in by_task.items():
            out[f"task_reward/{task}"] = statistics.fmean(scores)
        reasoning = getattr(getattr(self, "env", None), "rgv_reasoning", None)
        if reasoning is not None:  # as the TRL backend: the share of sampled tokens that are reasoning ids
            from ..reasoning_vocab import reasoning_token_share

            ids = [((step or {}).get("tokens") or {}).get("completion_ids") or []
                   for s in states for step in (state_get(s, "trajectory") or [])[-1:]]
            out["reasoning_vocab/share"] = reasoning_token_share(reasoning[0], ids)
        lengths = [len(self.processing_class.encode(_text(c), add_special_tokens=False)) for c in batch.completions]
        if lengths:
            out.update({"completions/mean_length": statistics.fmean(lengths), "completions/min_length": min(lengths),
                        "completions/max_length": max(lengths)})
        return out


class RGVRLTrainer(vf.RLTrainer):
    def __init__(self, *args, resume_step: int = 0, push_first: bool = False, curriculum=None, **kwargs):
        self.curriculum = curriculum  # rank 0's (the Orchestrator's); None on the other ranks
        super().__init__(*args, **kwargs)
        # the step whose batch must wait for the trainer's weights (resume, warm-up); None: no wait
        self.push_at = resume_step if (resume_step or push_first) else None
        self.server_policy_step = -1  # global_step whose weights the server holds (-1: unknown)

    def training_step(self, model, *args, **kwargs):
        if self.push_at is not None and self.state.global_step == self.push_at:
            # first step after a resume or a warm-up: push the weights, then generate this step's batch
            self.update_vllm()
            if self.orchestrator:
                self.orchestrator.submit_batch(self.state.global_step)
            self.push_at = None
        step = self.state.global_step
        loss = super().training_step(model, *args, **kwargs)
        skipped = self.orchestrator.skipped.pop(step, None) if self.orchestrator else None
        if skipped is not None:  # RLTrainer returns early from an empty batch without logging it
            self.log_metrics(mode="train", batch_metrics=skipped)
        return loss

    def log(self, logs, start_time=None):
        if self.curriculum is not None:
            logs = {**logs, **self.curriculum.level_logs(self.state.global_step)}
        super().log(logs, start_time)

    def update_vllm(self):
        if self.state.global_step == self.server_policy_step:
            return  # pushed for an evaluation at this step already
        step = self.state.global_step
        if step == 0 and self.push_at == 0:
            # RLTrainer never pushes at step 0 (the server started with the same weights); after a warm-up
            # it did not, so the push runs as if at a later step
            self.state.global_step = 1
        try:
            super().update_vllm()
        finally:
            self.state.global_step = step
        self.server_policy_step = step


def _text(completion) -> str:
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if m.get("role") == "assistant")
    return str(completion or "")


__all__ = ["RGVOrchestrator", "RGVRLConfig", "RGVRLTrainer", "rl_module"]
