"""CPU / no-vLLM path: TRL's GRPOTrainer with in-process generation, fed by the same env."""

from __future__ import annotations

import statistics
from collections import defaultdict

from ..config import ExperimentConfig
from ..config.loader import resolve_resume_checkpoint, to_grpo_config_kwargs, to_lora_config_kwargs
from ..protocol import parse_answer
from ..reasoning_vocab import activate, expose_token_wrapper_bias, lora_token_indices, reasoning_token_share
from ..rewards import get_reward, score_results
from ..rubric import partial_credit_of
from .callbacks import FixedEvalCallback, MetricsFileCallback
from .evaluation import hf_generate
from .launch import is_main_process
from .policy import drop_long_prompts, model_init_kwargs, policy_facts


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


def curriculum_trainer(base):
    """`base` (TRL's GRPOTrainer) drawing each generation batch from the curriculum.

    TRL's sampler picks slots; rows are resolved when the batch is generated, not when the dataloader
    fetches it (accelerate prefetches one batch ahead, which would draw it before the previous batch's
    scores moved the level).
    """

    class CurriculumGRPOTrainer(base):
        def __init__(self, *args, curriculum, **kwargs):
            self.rgv_curriculum = curriculum
            super().__init__(*args, **kwargs)

        def _generate_and_score_completions(self, inputs):
            if not self.model.training:
                return super()._generate_and_score_completions(inputs)
            step = self.state.global_step + 1
            rows = self.rgv_curriculum.draw([x["rgv_slot"] for x in inputs], step)
            inputs = [{**r, "rgv_slot": x["rgv_slot"]} for r, x in zip(rows, inputs)]
            out = super()._generate_and_score_completions(inputs)
            results = self.rgv_curriculum.take_pending()
            if self.accelerator.num_processes > 1:  # every rank must move its levels alike
                from accelerate.utils import gather_object

                results = gather_object(results)
            self.rgv_curriculum.report(results, step)
            return out

        def log(self, logs, start_time=None):
            logs.update(self.rgv_curriculum.level_logs(self.state.global_step))
            super().log(logs, start_time)

    return CurriculumGRPOTrainer


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
        trainer_cls, extra = curriculum_trainer(GRPOTrainer), {"curriculum": curriculum}
        callbacks.append(CurriculumCallback(curriculum))
    else:
        train_rows = drop_long_prompts(env.dataset, tokenizer, t.max_prompt_length, console)
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
