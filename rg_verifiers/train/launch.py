"""The two commands of a GPU run, built from the config alone.

`train_minimal.py --print-launch`, `rgv slurm train` and the trainer itself call these, so the server
that is started serves the model name, port and weight-sync port the trainer uses.

    CUDA_VISIBLE_DEVICES=0,1 vf-vllm --model M --served-model-name M --port 8000 ...
    CUDA_VISIBLE_DEVICES=2,3 accelerate launch --config-file configs/accelerate/zero3.yaml \\
        --num-processes 2 train_minimal.py <config>
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..config import ExperimentConfig
from ..embedded import hf_model_dir, is_embedded
from ..errors import RGVError

ACCELERATE_CONFIG = "configs/accelerate/zero3.yaml"
TRAIN_ENTRY = "train_minimal.py"


def server_model(cfg: ExperimentConfig) -> str:
    """What vf-vllm loads (`--model`): the embedded model is a local folder, anything else as written;
    with model.reasoning_vocab_size, the expanded checkpoint `prepare_args` writes first."""
    from ..reasoning_vocab import ReasoningVocab, prepared_dir

    name = cfg.model.name_or_path
    if cfg.model.reasoning_vocab_size and ReasoningVocab.of(name) is None:
        return str(prepared_dir(cfg.training.output_dir))
    return str(hf_model_dir()) if is_embedded(name) else name


def prepare_args(cfg: ExperimentConfig, config_path: str, overrides=()) -> list[str] | None:
    """The command that writes the checkpoint vf-vllm must serve before it starts (None: nothing to write)."""
    if not cfg.model.reasoning_vocab_size or server_model(cfg) == cfg.model.name_or_path:
        return None
    return ["python", "-m", "rg_verifiers.reasoning_vocab", str(config_path), *overrides]


def served_model_name(cfg: ExperimentConfig) -> str:
    """The name rollouts and evaluations request; vLLM answers 404 for any other."""
    return cfg.vllm.served_model_name or server_model(cfg)


def data_parallel_size(cfg: ExperimentConfig, inference_gpus: int) -> int:
    v = cfg.vllm
    if v.data_parallel_size is not None:
        dp = v.data_parallel_size
    else:
        if inference_gpus % v.tensor_parallel_size:
            raise RGVError(f"{inference_gpus} inference GPU(s) cannot be split into tensor-parallel groups of "
                           f"vllm.tensor_parallel_size={v.tensor_parallel_size}")
        dp = inference_gpus // v.tensor_parallel_size
    if dp * v.tensor_parallel_size != inference_gpus:
        raise RGVError(f"vllm.tensor_parallel_size ({v.tensor_parallel_size}) x vllm.data_parallel_size ({dp}) must "
                       f"equal the inference GPUs ({inference_gpus})")
    return dp


def vf_vllm_args(cfg: ExperimentConfig, inference_gpus: int = 1, host: str | None = None,
                 port: str | int | None = None) -> list[str]:
    """`vf-vllm` argv. `host`/`port` replace the config's (e.g. with "$PORT" in a SLURM script)."""
    v, t = cfg.vllm, cfg.training
    args = ["vf-vllm", "--model", server_model(cfg), "--served-model-name", served_model_name(cfg),
            "--host", str(host or v.host), "--port", str(port or v.port),
            "--tensor-parallel-size", str(v.tensor_parallel_size),
            "--data-parallel-size", str(data_parallel_size(cfg, inference_gpus)),
            "--gpu-memory-utilization", str(v.gpu_memory_utilization),
            "--max-model-len", str(v.max_model_len or t.max_prompt_length + t.max_completion_length)]
    if cfg.model.revision and not Path(server_model(cfg)).expanduser().exists():
        args += ["--revision", cfg.model.revision]
    if cfg.model.dtype != "auto":
        args += ["--dtype", cfg.model.dtype]  # sampling logprobs in the dtype the trainer computes them in
    if v.enforce_eager:
        args.append("--enforce-eager")
    return args + list(v.extra_args)


def vf_vllm_command(cfg: ExperimentConfig, gpus: str = "0", inference_gpus: int = 1) -> str:
    return f"CUDA_VISIBLE_DEVICES={gpus} " + shlex.join(vf_vllm_args(cfg, inference_gpus))


def accelerate_command(config_path: str, gpus: str = "1", num_processes: int = 1, overrides=(),
                       accelerate_config: str = ACCELERATE_CONFIG) -> str:
    extra = "".join(f" {shlex.quote(o)}" for o in overrides)
    return (f"CUDA_VISIBLE_DEVICES={gpus} accelerate launch --config-file {accelerate_config} "
            f"--num-processes {num_processes} {TRAIN_ENTRY} {shlex.quote(str(config_path))}{extra}")


def server_url(cfg: ExperimentConfig) -> str:
    host = cfg.vllm.host
    return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{cfg.vllm.port}"


def is_main_process() -> bool:
    """Rank 0 of an accelerate/torchrun launch (or a plain run): the one that writes run files."""
    return int(os.environ.get("RANK", "0")) == 0
