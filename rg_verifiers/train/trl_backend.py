"""CPU / no-vLLM path: TRL's GRPOTrainer with in-process generation, fed by the same env."""

from __future__ import annotations

import logging
import math
import random
import statistics
from collections import defaultdict

import torch

from ..config import ExperimentConfig
from ..config.loader import resolve_resume_checkpoint, to_grpo_config_kwargs, to_lora_config_kwargs
from ..errors import RGVError
from ..protocol import parse_answer
from ..reasoning_vocab import activate, expose_token_wrapper_bias, lora_token_indices, reasoning_token_share
from ..rewards import get_reward, score_results
from ..rubric import partial_credit_of
from .callbacks import FixedEvalCallback, MetricsFileCallback
from .evaluation import hf_generate
from .launch import is_main_process
from .policy import drop_long_prompts, model_init_kwargs, policy_facts

logger = logging.getLogger(__name__)


def trl_reward_funcs(cfg: ExperimentConfig, curriculum=None, completion_log=None, partial_credit: bool = True,
                     reasoning_vocab=None) -> list:
    """One TRL reward function per configured reward (TRL logs each as rewards/<name>/mean);
    the first also logs the parse-failure rate and the task score per task, hands the task
    scores to the curriculum, and with a reasoning vocabulary logs reasoning_vocab/share (the
    fraction of completion tokens that are reasoning ids)."""
    funcs = []
    seen_rewards: dict[str, list[float]] = {}  # this batch's values per reward, for the completion log
    for k, spec in enumerate(cfg.rewards):
        fn = get_reward(spec.name)

        def reward(prompts, completions, info, log_metric=None, _fn=fn, _first=(k == 0),
                   _is_score=(spec.name == "correctness"), _last=(k == len(cfg.rewards) - 1), _name=spec.name,
                   **kwargs):
            values = _fn(completions, info)
            if _is_score and not partial_credit:  # data.partial_credit=false: the environments' strict reward
                values = [v if v >= 1.0 else 0.0 for v in values]
            if completion_log is not None:  # TRL calls the reward functions in order: the last one writes
                if _first:
                    seen_rewards.clear()
                seen_rewards[_name] = list(values)
                if _last:
                    state = kwargs.get("trainer_state")
                    completion_log.write((state.global_step + 1) if state is not None else 0, prompts, completions,
                                         info, dict(seen_rewards))
            if _first and (log_metric is not None or curriculum is not None):
                # correctness already is the task score: do not score every completion twice
                scores = values if _is_score else [r.score for r in score_results(completions, info)]
                if curriculum is not None:
                    curriculum.collect(info, scores)
            if _first and log_metric is not None:
                log_metric("parse_failure", statistics.fmean(parse_answer(c, i["rg_task"]) is None
                                                              for c, i in zip(completions, info)))
                if reasoning_vocab is not None and kwargs.get("completion_ids") is not None:
                    log_metric("reasoning_vocab/share", reasoning_token_share(reasoning_vocab, kwargs["completion_ids"]))
                by_task = defaultdict(list)
                for i, score in zip(info, scores):
                    by_task[i["rg_task"]].append(score)
                for task, scores in by_task.items():
                    log_metric(f"task_reward/{task}", statistics.fmean(scores))
            return values

        reward.__name__ = spec.name
        funcs.append(reward)
    return funcs


def rgv_trainer(base):
    """`base` (TRL's GRPOTrainer) with the adaptive curriculum and/or dynamic sampling.

    Curriculum: TRL's sampler picks slots; rows are resolved when the batch is generated, not when the
    dataloader fetches it (accelerate prefetches one batch ahead, which would draw it before the
    previous batch's scores moved the level).

    Dynamic sampling (dynamic_sampling.py): the seam is `_generate_and_score_completions`, which turns
    prompt rows into the tensors the loss reads (ids, masks, advantages, old log-probs); it runs once
    per round, the rows of groups with zero reward spread are dropped from its output, and the kept
    rows of all rounds are joined into the step's batch. Each round's rewards are read where TRL
    gathers them (`_calculate_rewards`), so the groups are the ones TRL normalised the advantages over.
    """

    class RGVGRPOTrainer(base):
        def __init__(self, *args, curriculum=None, dynamic_sampling=None, fresh_rows=None, shared_prefix=False,
                     **kwargs):
            self.rgv_curriculum = curriculum
            self.rgv_shared_prefix = shared_prefix
            self.rgv_dynamic = dynamic_sampling if dynamic_sampling is not None and dynamic_sampling.enabled else None
            self.rgv_fresh_rows = fresh_rows  # dataset rows for replacement groups (without a curriculum)
            self.rgv_last_rewards = None
            super().__init__(*args, **kwargs)
            self.rgv_rng = random.Random(f"rgv:{self.args.seed}:dynamic:{self.accelerator.process_index}")

        def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, *args, **kwargs):
            """Shared-prefix generation: the model TRL unwraps for its plain `generate` call prefills each
            distinct prompt once (shared_prefix.py). vLLM, continuous batching and images keep TRL's path."""
            plain = (not self.rgv_shared_prefix or self.use_vllm or self.use_transformers_continuous_batching
                     or multimodal_fields or any(i is not None for i in (images or [])))
            model = self.accelerator.unwrap_model(self.model_wrapped)
            if plain or "generate" in vars(model):
                return super()._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations, *args,
                                                     **kwargs)
            from . import shared_prefix

            original = model.generate
            model.generate = lambda input_ids, attention_mask, generation_config, **rest: (
                shared_prefix.generate(model, input_ids, attention_mask, generation_config, generate=original)
                if not rest else original(input_ids=input_ids, attention_mask=attention_mask,
                                          generation_config=generation_config, **rest))
            try:
                return super()._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations, *args,
                                                     **kwargs)
            finally:
                del model.generate

        def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep,
                                               batch_size=None, compute_entropy=False, compute_aux_loss=False,
                                               **multimodal):
            """Shared-prefix loss pass (shared_prefix.py) per chunk whose rows repeat a prompt; TRL's otherwise."""
            if not self.rgv_shared_prefix or compute_aux_loss or any(v is not None for v in multimodal.values()):
                return super()._get_per_token_logps_and_entropies(
                    model, input_ids, attention_mask, logits_to_keep, batch_size, compute_entropy, compute_aux_loss,
                    **multimodal)
            from . import shared_prefix

            batch_size = batch_size or input_ids.size(0)
            logps, entropies = [], []
            for start in range(0, input_ids.size(0), batch_size):
                ids, mask = input_ids[start:start + batch_size], attention_mask[start:start + batch_size]
                with self.accelerator.autocast():
                    got = shared_prefix.fused_logps(model, ids, mask, logits_to_keep, compute_entropy)
                if got is None:
                    lp, ent, _ = super()._get_per_token_logps_and_entropies(model, ids, mask, logits_to_keep,
                                                                          None, compute_entropy)
                    got = (lp, ent)
                logps.append(got[0])
                entropies.append(got[1])
            return torch.cat(logps), (torch.cat(entropies) if compute_entropy else None), None

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self.rgv_last_rewards = rewards  # every process's rows, as TRL groups them
            return rewards

        def _report_curriculum(self, step: int) -> None:
            if self.rgv_curriculum is None:
                return
            results = self.rgv_curriculum.take_pending()
            if self.accelerator.num_processes > 1:  # every rank must move its levels alike
                from accelerate.utils import gather_object

                results = gather_object(results)
            self.rgv_curriculum.report(results, step)

        def _rows(self, n_groups: int, step: int, slots=None) -> list[dict]:
            """Prompt rows, each repeated num_generations times in a row, as TRL's sampler lays them out."""
            g = self.num_generations
            if self.rgv_curriculum is not None:
                if slots is None:
                    slots = [self.rgv_rng.randrange(self.rgv_curriculum.num_slots) for _ in range(n_groups)]
                rows = self.rgv_curriculum.draw(slots, step)
                rows = [{**r, "rgv_slot": s} for r, s in zip(rows, slots)]
            else:
                rows = [self.rgv_fresh_rows[self.rgv_rng.randrange(len(self.rgv_fresh_rows))] for _ in range(n_groups)]
            return [dict(r) for r in rows for _ in range(g)]

        def _generate_and_score_completions(self, inputs):
            if not self.model.training or (self.rgv_curriculum is None and self.rgv_dynamic is None):
                return super()._generate_and_score_completions(inputs)
            step = self.state.global_step + 1
            if self.rgv_curriculum is not None:
                slots = [x["rgv_slot"] for x in inputs]
                inputs = self._rows(0, step, slots[::self.num_generations]) if self.rgv_dynamic else \
                    [{**r, "rgv_slot": s} for r, s in zip(self.rgv_curriculum.draw(slots, step), slots)]
            if self.rgv_dynamic is None:
                out = super()._generate_and_score_completions(inputs)
                self._report_curriculum(step)
                return out
            return self._dynamic_sampling(inputs, step)

        def _dynamic_sampling(self, inputs, step: int):
            from .dynamic_sampling import StepStats, groups_with_spread

            g, rank, world = self.num_generations, self.accelerator.process_index, self.accelerator.num_processes
            if len(inputs) % g:
                raise RGVError(f"training.dynamic_sampling needs whole groups per process: {len(inputs)} rows are not "
                               f"a multiple of training.num_generations={g}")
            stats = StepStats(groups_wanted=len(inputs) // g, group_size=g)
            parts = []
            for round_ in range(1 + self.rgv_dynamic.max_extra_rounds):
                if round_:
                    # the missing groups over the share kept so far: one round usually fills the batch
                    keep_rate = max(stats.groups_kept / stats.groups_generated, 1 / stats.groups_wanted)
                    n = min(stats.groups_wanted, math.ceil(self._global_max(stats.missing) / keep_rate))
                    inputs = self._rows(n, step)
                out = super()._generate_and_score_completions(inputs)
                rewards = (self.rgv_last_rewards * self.reward_weights.to(self.rgv_last_rewards.device)).nansum(dim=1)
                rewards[torch.isnan(self.rgv_last_rewards).all(dim=1)] = float("nan")
                spread = groups_with_spread([r for r in rewards.tolist()], g)
                n_local = len(inputs)
                local = spread[rank * n_local // g:(rank + 1) * n_local // g]
                keep = torch.tensor([k for k in local for _ in range(g)], dtype=torch.bool)
                room = stats.missing * g
                kept_rows = keep.nonzero(as_tuple=True)[0][:room]
                stats.add_round(kept=len(kept_rows) // g, generated=len(local), filtered=len(local) - sum(local))
                parts.append(_select_rows(out, kept_rows, n_local))
                # the dropped groups' scores count too: a task whose groups are all solved is one to raise
                self._report_curriculum(step)
                if self._global_max(stats.missing) == 0:
                    break
            batch = _join_rows(parts, self._tokenizer.pad_token_id)
            # whole chunks for the accumulation steps (split_tensor_dict would drop a remainder silently)
            n_rows = batch["completion_ids"].shape[0]
            usable = n_rows - n_rows % self.args.steps_per_generation
            if usable < n_rows:
                batch = _select_rows(batch, torch.arange(usable), n_rows)
                stats.groups_kept -= math.ceil((n_rows - usable) / g)
            batch["num_items_in_batch"] = self.accelerator.gather(batch["completion_mask"].sum()).sum()
            for name, value in stats.metrics().items():
                self._metrics["train"][name].append(value)
            if stats.missing:
                logger.warning("dynamic sampling: step %d trains on %d of %d groups (%d generation rounds)", step,
                               stats.groups_kept, stats.groups_wanted, stats.rounds)
            return batch

        def _global_max(self, value: int) -> int:
            if self.accelerator.num_processes == 1:
                return value
            t = torch.tensor([value], device=self.accelerator.device)
            return int(self.accelerator.gather(t).max().item())

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.rgv_dynamic is not None and inputs["completion_ids"].shape[0] == 0:
                # every group of every round was dropped: a zero loss that still reaches the graph, so
                # backward runs and the step takes no update
                return sum(p.reshape(-1)[:1].sum() * 0.0 for p in model.parameters() if p.requires_grad)
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

        def log(self, logs, start_time=None):
            if self.rgv_curriculum is not None:
                logs.update(self.rgv_curriculum.level_logs(self.state.global_step))
            super().log(logs, start_time)

    return RGVGRPOTrainer


# tensors of one row per completion whose second dimension is padding on the left (prompts) or right
_LEFT_PADDED = {"prompt_ids", "prompt_mask"}
_ID_TENSORS = {"prompt_ids", "completion_ids"}


def _select_rows(out: dict, rows, n_rows: int) -> dict:
    """`out` (TRL's generate-and-score output) restricted to `rows`; scalars and None kept as they are."""
    picked = {}
    for key, value in out.items():
        if torch.is_tensor(value) and value.ndim >= 1 and value.shape[0] == n_rows:
            picked[key] = value[rows]
        elif torch.is_tensor(value) and value.ndim >= 1:
            raise RGVError(f"training.dynamic_sampling cannot split TRL's {key!r} by rollout (shape "
                           f"{tuple(value.shape)}); turn it off for this model")
        else:
            picked[key] = value
    return picked


def _join_rows(parts: list[dict], pad_token_id: int) -> dict:
    """Rounds' kept rows in one batch, each 2-D tensor padded to the widest round on its padding side."""
    joined = {}
    for key, first in parts[0].items():
        if not torch.is_tensor(first) or first.ndim == 0:
            joined[key] = first
            continue
        values = [p[key] for p in parts]
        if first.ndim >= 2:
            width = max(v.shape[1] for v in values)
            fill = pad_token_id if key in _ID_TENSORS else 0
            padded = []
            for v in values:
                extra = v.new_full((v.shape[0], width - v.shape[1], *v.shape[2:]), fill)
                padded.append(torch.cat([extra, v] if key in _LEFT_PADDED else [v, extra], dim=1))
            values = padded
        joined[key] = torch.cat(values, dim=0)
    return joined


def train_trl(cfg: ExperimentConfig, env, model_path: str, console, after_warmup: bool = False) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.trainer_callback import ProgressCallback
    from trl import GRPOConfig, GRPOTrainer
    from trl.trainer.callbacks import RichProgressCallback

    t = cfg.training
    torch.set_num_threads(t.num_threads)
    kwargs = to_grpo_config_kwargs(cfg)
    kwargs.update(reward_weights=[r.weight for r in cfg.rewards], disable_tqdm=True)
    args = GRPOConfig(**kwargs)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path, **model_init_kwargs(cfg, torch.cuda.is_available()))
    reasoning_vocab = activate(model, tokenizer)  # None unless model.reasoning_vocab_size expanded it
    lora = to_lora_config_kwargs(cfg)
    peft_config = None
    if lora:
        from peft import LoraConfig

        peft_config = LoraConfig(**lora, trainable_token_indices=lora_token_indices(model, reasoning_vocab))
    checkpoint = resolve_resume_checkpoint(cfg)
    callbacks = [MetricsFileCallback(t.output_dir)]
    trainer_cls, extra, curriculum = GRPOTrainer, {}, None
    main = is_main_process()
    if t.curriculum.enabled:
        from datasets import Dataset

        from .curriculum import Curriculum, CurriculumCallback, prompt_fits

        curriculum = Curriculum(cfg, env, fits=prompt_fits(tokenizer, t.max_prompt_length), resume_from=checkpoint,
                                console=console if main else None, write_records=main)
        # the start level's rows, one per slot; each generation batch replaces them with the current level's
        train_rows = Dataset.from_list([{**curriculum.row(i), "rgv_slot": i} for i in range(curriculum.num_slots)])
        extra = {"curriculum": curriculum}
        callbacks.append(CurriculumCallback(curriculum))
    else:
        train_rows = drop_long_prompts(env.dataset, tokenizer, t.max_prompt_length, console)
    if t.dynamic_sampling.enabled:
        extra.update(dynamic_sampling=t.dynamic_sampling, fresh_rows=train_rows)
    if t.shared_prefix:
        extra["shared_prefix"] = True
    if extra:
        trainer_cls = rgv_trainer(GRPOTrainer)
    completion_log = None
    if t.log_completions and main:
        from .completions import CompletionLog

        completion_log = CompletionLog(t.output_dir, console=console)
    eval_rows = list(env.eval_dataset) if env.eval_dataset is not None else []
    evaluator = FixedEvalCallback(eval_rows, lambda m: hf_generate(m, tokenizer, t.max_completion_length),
                                  t.output_dir, t.eval_steps, after_warmup=after_warmup)
    callbacks.append(evaluator)
    trainer = trainer_cls(
        model=model, reward_funcs=trl_reward_funcs(cfg, curriculum, completion_log, partial_credit_of(env.rubric),
                                                   reasoning_vocab),
        args=args, train_dataset=train_rows, processing_class=tokenizer, peft_config=peft_config, callbacks=callbacks,
        **extra,
    )
    evaluator.attach(trainer)
    if reasoning_vocab is not None and peft_config is not None:
        expose_token_wrapper_bias(trainer.model)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(RichProgressCallback)
    output = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(f"{t.output_dir}/final")
    tokenizer.save_pretrained(f"{t.output_dir}/final")
    return {"global_step": output.global_step, "training_loss": output.training_loss, **output.metrics,
            **policy_facts(model)}
