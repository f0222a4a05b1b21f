"""CPU / no-vLLM path: TRL's GRPOTrainer with in-process generation, fed by the same env."""

from __future__ import annotations

import statistics
from collections import defaultdict

from ..config import ExperimentConfig
from ..config.loader import resolve_resume_checkpoint, to_grpo_config_kwargs, to_lora_config_kwargs
from ..protocol import parse_answer
from ..rewards import get_reward, score_results
from .callbacks import FixedEvalCallback, MetricsFileCallback
from .evaluation import hf_generate
from .policy import drop_long_prompts, model_init_kwargs, policy_facts


def trl_reward_funcs(cfg: ExperimentConfig) -> list:
    """One TRL reward function per configured reward (TRL logs each as rewards/<name>/mean);
    the first also logs the parse-failure rate and the task score per task."""
    funcs = []
    for k, spec in enumerate(cfg.rewards):
        fn = get_reward(spec.name)

        def reward(prompts, completions, info, log_metric=None, _fn=fn, _first=(k == 0),
                   _is_score=(spec.name == "correctness"), **kwargs):
            values = _fn(completions, info)
            if _first and log_metric is not None:
                log_metric("parse_failure", statistics.fmean(parse_answer(c) is None for c in completions))
                # correctness already is the task score: do not score every completion twice
                scores = values if _is_score else [r.score for r in score_results(completions, info)]
                by_task = defaultdict(list)
                for i, score in zip(info, scores):
                    by_task[i["rg_task"]].append(score)
                for task, scores in by_task.items():
                    log_metric(f"task_reward/{task}", statistics.fmean(scores))
            return values

        reward.__name__ = spec.name
        funcs.append(reward)
    return funcs


def train_trl(cfg: ExperimentConfig, env, model_path: str, console) -> dict:
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
    lora = to_lora_config_kwargs(cfg)
    peft_config = None
    if lora:
        from peft import LoraConfig

        peft_config = LoraConfig(**lora)
    train_rows = drop_long_prompts(env.dataset, tokenizer, t.max_prompt_length, console)
    eval_rows = list(env.eval_dataset) if env.eval_dataset is not None else []
    trainer = GRPOTrainer(
        model=model, reward_funcs=trl_reward_funcs(cfg), args=args, train_dataset=train_rows,
        processing_class=tokenizer, peft_config=peft_config,
        callbacks=[MetricsFileCallback(t.output_dir),
                   FixedEvalCallback(eval_rows, lambda m: hf_generate(m, tokenizer, t.max_completion_length),
                                     t.output_dir, t.eval_steps)],
    )
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(RichProgressCallback)
    output = trainer.train(resume_from_checkpoint=resolve_resume_checkpoint(cfg))
    trainer.save_model(f"{t.output_dir}/final")
    tokenizer.save_pretrained(f"{t.output_dir}/final")
    return {"global_step": output.global_step, "training_loss": output.training_loss, **output.metrics,
            **policy_facts(model)}
