"""train(cfg): pick the backend, build the env and the model, run GRPO, write the results."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..config import ExperimentConfig
from ..config.loader import save_config, tracker_env
from ..embedded import hf_model_dir, is_embedded
from ..errors import RGVError


def select_backend(cfg: ExperimentConfig) -> tuple[str, str]:
    """(backend, why). 'auto' picks verifiers with CUDA + vLLM, TRL otherwise.

    An explicit 'verifiers' needs only vLLM's weight-sync client and a reachable vf-vllm server: it
    also runs on a CPU (that is how CI runs it, against a stand-in server).
    """
    import torch

    cuda = torch.cuda.is_available()
    vllm = importlib.util.find_spec("vllm") is not None
    t = cfg.training
    if t.backend == "verifiers" and not vllm:
        raise RGVError("training.backend=verifiers needs vLLM (its weight-sync client; ./setup.sh --gpu installs it), "
                       "not found here: use training.backend=trl")
    if t.backend == "auto":
        backend = "verifiers" if cuda and vllm else "trl"
        why = "CUDA and vLLM found" if backend == "verifiers" else f"no {'CUDA' if not cuda else 'vLLM'}: in-process generation"
    else:
        backend, why = t.backend, "as configured"
    if not cuda:
        if t.bf16:
            raise RGVError("training.bf16=true needs a GPU; on CPU set training.bf16=false")
        if cfg.model.attn_implementation == "flash_attention_2":
            raise RGVError("model.attn_implementation=flash_attention_2 needs a GPU; on CPU use sdpa or leave it unset")
    return backend, why


def resolve_model(name: str) -> str:
    """A local folder for either backend; never downloads (pre-fetch hub models yourself)."""
    if is_embedded(name):
        return str(hf_model_dir())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise RGVError(f"model folder {name!r} has no config.json: not a transformers checkpoint")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise RGVError(f"model path {name!r} does not exist")
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(name, "config.json")
    if not isinstance(cached, str):
        raise RGVError(f"model {name!r} is neither a local folder nor in the Hugging Face cache; "
                       f"download it first (`huggingface-cli download {name}`) or give a local path")
    return str(Path(cached).parent)


def build_env(cfg: ExperimentConfig):
    from ..env import load_rg_environment

    specs = [{"name": t.name, "weight": t.weight, "config": dict(t.config), "difficulty": t.difficulty} for t in cfg.tasks]
    d = cfg.data
    return load_rg_environment(specs[0] if len(specs) == 1 else specs, num_train_examples=d.num_train_examples,
                               num_eval_examples=d.num_eval_examples, seed=d.seed, system_prompt=d.system_prompt)


def is_main_process() -> bool:
    """Rank 0 of an accelerate/torchrun launch (or a plain run): the one that writes run files."""
    return int(os.environ.get("RANK", "0")) == 0


def train(cfg: ExperimentConfig, env=None, console: Console | None = None) -> dict:
    console = console or Console(stderr=True)
    cfg.validate()
    t = cfg.training
    os.environ.setdefault("OMP_NUM_THREADS", str(t.num_threads))
    for key, value in tracker_env(cfg).items():
        os.environ.setdefault(key, value)
    backend, why = select_backend(cfg)
    main = is_main_process()
    if main:
        console.print(f"[bold]backend:[/] {escape(f'{backend} ({why})')}")
        save_config(cfg, t.output_dir)
    for reward in cfg.rewards:  # unknown names fail before any model or data work
        from ..rewards import get_reward

        get_reward(reward.name)
    model_path = resolve_model(cfg.model.name_or_path)  # local or cached only; fails before data work
    if env is None:
        env = build_env(cfg)
    if backend == "trl":
        from .trl_backend import train_trl

        result = train_trl(cfg, env, model_path, console)
    else:
        from .vf_backend import train_verifiers

        result = train_verifiers(cfg, env, model_path, console)
    result = {"backend": backend, "output_dir": t.output_dir, **result}
    if main:
        (Path(t.output_dir) / "train_results.json").write_text(json.dumps(result, indent=1, default=str))
    return result
