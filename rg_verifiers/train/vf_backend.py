"""GPU path: verifiers 0.1.9.post3 RLTrainer, rollouts from a separate `vf-vllm` server.

    CUDA_VISIBLE_DEVICES=0,1 vf-vllm --model M --data-parallel-size 2 --enforce-eager --disable-log-requests
    CUDA_VISIBLE_DEVICES=2,3 accelerate launch --config-file configs/accelerate/zero3.yaml \\
        --num-processes 2 train_minimal.py <config>
"""

from __future__ import annotations

import os
import urllib.request

from ..config import ExperimentConfig
from ..config.loader import resolve_resume_checkpoint, to_lora_config_kwargs, to_rl_config_kwargs
from ..errors import RGVError
from .callbacks import FixedEvalCallback, MetricsFileCallback
from .evaluation import openai_generate


def vf_vllm_command(cfg: ExperimentConfig, gpus: str = "0", data_parallel: int = 1) -> str:
    t = cfg.training
    return (f"CUDA_VISIBLE_DEVICES={gpus} vf-vllm --model {cfg.model.name_or_path} --port {t.vllm_server_port} "
            f"--data-parallel-size {data_parallel} --enforce-eager --disable-log-requests")


def accelerate_command(config_path: str, gpus: str = "1", num_processes: int = 1, overrides: list[str] = ()) -> str:
    extra = "".join(f" {o}" for o in overrides)
    return (f"CUDA_VISIBLE_DEVICES={gpus} accelerate launch --config-file configs/accelerate/zero3.yaml "
            f"--num-processes {num_processes} train_minimal.py {config_path}{extra}")


def server_url(cfg: ExperimentConfig) -> str:
    host = cfg.training.vllm_server_host
    return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{cfg.training.vllm_server_port}"


def check_server(cfg: ExperimentConfig) -> None:
    try:
        with urllib.request.urlopen(f"{server_url(cfg)}/health", timeout=5) as r:
            if r.status == 200:
                return
    except OSError:
        pass
    raise RGVError(f"no vf-vllm server answers at {server_url(cfg)}; start it on other GPUs first: {vf_vllm_command(cfg)}")


def train_verifiers(cfg: ExperimentConfig, env, model_path: str, console) -> dict:
    import verifiers as vf

    check_server(cfg)
    kwargs = to_rl_config_kwargs(cfg, int(os.environ.get("WORLD_SIZE", 1)))
    lora = to_lora_config_kwargs(cfg)
    if lora:
        from peft import LoraConfig

        kwargs["lora_config"] = LoraConfig(**lora)
    args = vf.RLConfig(**kwargs)
    # the resolved local folder: nothing is downloaded at run time (vf-vllm serves the same name)
    model, tokenizer = vf.get_model_and_tokenizer(model_path, use_liger=args.use_liger)
    t = cfg.training
    eval_rows = list(env.eval_dataset) if env.eval_dataset is not None else []
    is_main = int(os.environ.get("RANK", 0)) == 0
    callbacks = [MetricsFileCallback(t.output_dir)] if is_main else []
    if is_main:
        # the server holds the weights RLTrainer syncs after each step
        gen = openai_generate(f"{server_url(cfg)}/v1", cfg.model.name_or_path, t.max_completion_length)
        callbacks.append(FixedEvalCallback(eval_rows, lambda _m: gen, t.output_dir, t.eval_steps))
    trainer = vf.RLTrainer(model=model, env=env, args=args, processing_class=tokenizer, callbacks=callbacks)
    output = trainer.train(resume_from_checkpoint=resolve_resume_checkpoint(cfg))
    trainer.save_model(f"{t.output_dir}/final")
    return {"global_step": output.global_step, "training_loss": output.training_loss, **output.metrics}
