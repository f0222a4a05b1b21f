"""train(cfg): pick the backend, build the env and the model, run GRPO, write the results."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..config import ExperimentConfig
from ..config.loader import resolve_resume_checkpoint, save_config, tracker_env
from ..embedded import hf_model_dir, is_embedded
from ..compat import require_v0
from ..errors import RGVError
from .launch import is_main_process


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
        if cfg.model.load_in_8bit or cfg.model.load_in_4bit:
            bits = 8 if cfg.model.load_in_8bit else 4
            raise RGVError(f"model.load_in_{bits}bit needs a CUDA GPU (bitsandbytes); on CPU set it to false")
        if cfg.model.attn_implementation == "flash_attention_2":
            raise RGVError("model.attn_implementation=flash_attention_2 needs a GPU; on CPU use sdpa or leave it unset")
    return backend, why


# what from_pretrained needs (weights, configs, tokenizer), not the extra formats many repos also hold
MODEL_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.py", "*.jinja"]


def _prefetch_hint(name: str, revision: str | None) -> str:
    rev = f" --revision {revision}" if revision else ""
    return (f"pre-fetch it on a machine with network (`hf download {name}{rev}`, into the same HF_HOME) "
            f"or give a local folder")


def resolve_model(name: str, revision: str | None = None, console=None) -> str:
    """A local folder for either backend: the embedded model, a folder, or a hub id from the Hugging
    Face cache, downloaded first when it is not there (HF_HOME, HF_TOKEN and HF_ENDPOINT apply as
    usual; HF_HUB_OFFLINE=1 never downloads)."""
    if is_embedded(name):
        return str(hf_model_dir())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise RGVError(f"model folder {name!r} has no config.json: not a transformers checkpoint")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise RGVError(f"model path {name!r} does not exist")
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    try:
        return snapshot_download(name, revision=revision, allow_patterns=MODEL_FILES, local_files_only=True)
    except (LocalEntryNotFoundError, FileNotFoundError):
        pass
    if constants.HF_HUB_OFFLINE:
        raise RGVError(f"model {name!r} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and HF_HUB_OFFLINE "
                       f"is set: {_prefetch_hint(name, revision)}")
    try:
        with (console or Console(stderr=True)).status(f"downloading {name} from {constants.ENDPOINT} ..."):
            return snapshot_download(name, revision=revision, allow_patterns=MODEL_FILES)
    except GatedRepoError:
        raise RGVError(f"model {name!r} is gated: accept its licence on the hub and set HF_TOKEN (e.g. in .env)") from None
    except RepositoryNotFoundError:
        raise RGVError(f"model {name!r} is not on the hub (or is private: set HF_TOKEN); check the id") from None
    except RevisionNotFoundError:
        raise RGVError(f"model {name!r} has no revision {revision!r} (model.revision)") from None
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as e:  # network down, hub unreachable, timeouts
        why = " ".join(str(e).split())[:200] or type(e).__name__
        raise RGVError(f"model {name!r} is not in the Hugging Face cache and {constants.ENDPOINT} could not be "
                       f"reached ({why}): {_prefetch_hint(name, revision)}") from None


def build_env(cfg: ExperimentConfig):
    # both backends train on the 0.1.x environment (TRL rewards through its rubric; RLTrainer is 0.1.9's)
    require_v0("training (train_minimal.py, train_ultra_minimal.py)")
    from ..env import load_rg_environment

    from ..tasks import task_info

    c = cfg.training.curriculum

    def eval_level(t):
        # with a curriculum the fixed eval split is at each task's start level, where training begins
        # (a task without levels is left to the curriculum's own one-line error)
        if t.difficulty is not None or not c.enabled or not task_info(t.name).difficulty_levels:
            return t.difficulty
        return c.start_level

    specs = [{"name": t.name, "weight": t.weight, "config": dict(t.config), "difficulty": eval_level(t)}
             for t in cfg.tasks]
    d = cfg.data
    return load_rg_environment(specs[0] if len(specs) == 1 else specs, num_train_examples=d.num_train_examples,
                               num_eval_examples=d.num_eval_examples, seed=d.seed, system_prompt=d.system_prompt,
                               partial_credit=d.partial_credit)


def warmup_stage(cfg: ExperimentConfig, env, model_path: str, backend: str, console) -> str:
    """Run the warm-up (or, when resuming, reuse its result); returns the model GRPO starts from."""
    import torch

    from .evaluation import hf_generate, openai_generate
    from .policy import model_init_kwargs
    from .warmup import WARMUP_DIR, run_warmup

    t = cfg.training
    done = Path(t.output_dir) / WARMUP_DIR
    if resolve_resume_checkpoint(cfg) and (done / "config.json").is_file():
        console.print(f"[bold]warm-up:[/] resuming, so GRPO continues from {escape(str(done))}")
        return str(done)
    torch.set_num_threads(t.num_threads)
    if backend == "trl":
        def baseline(model, tokenizer):
            return hf_generate(model, tokenizer, t.max_completion_length)
    else:  # the baseline is the model the server was started with; the trainer's weights are sharded
        from .launch import served_model_name, server_url

        def baseline(model, tokenizer):
            from ..reasoning_vocab import ReasoningVocab

            vocab = ReasoningVocab.of(model)
            return openai_generate(f"{server_url(cfg)}/v1", served_model_name(cfg), t.max_completion_length,
                                   reasoning=(vocab, tokenizer) if vocab else None)
    return run_warmup(cfg, env, model_path, console, baseline, model_init_kwargs(cfg, torch.cuda.is_available()))


def reasoning_vocab_stage(cfg: ExperimentConfig, model_path: str, console, poll_s: float = 2.0) -> str:
    """The expanded checkpoint (`<output_dir>/reasoning_vocab`) both backends start from; rank 0 writes it,
    the other ranks wait until it is written from this base and size (they would otherwise race to write
    one folder, or take an earlier run's)."""
    import time

    import torch

    from .. import reasoning_vocab as rv
    from .policy import model_init_kwargs

    size = cfg.model.reasoning_vocab_size
    if is_main_process():
        return rv.prepare(model_path, size, cfg.training.output_dir, model_init_kwargs(cfg, torch.cuda.is_available()),
                          console)
    deadline = time.monotonic() + 1800
    while (found := rv.ready(model_path, size, cfg.training.output_dir)) is None:
        if time.monotonic() > deadline:
            raise RGVError(f"rank 0 did not write the expanded checkpoint {rv.prepared_dir(cfg.training.output_dir)} "
                           f"within 30 minutes")
        time.sleep(poll_s)
    return found


RUN_RECORDS = ("metrics.jsonl", "eval_results", "training_curves.png", "train_results.json", "curriculum.jsonl")


def archive_previous_run(out_dir: str | Path) -> Path | None:
    """A fresh run in a folder that holds an earlier run's records moves them to previous/<time>/
    first: appended to, they would mix two runs in one curve; deleted, they would be lost."""
    out = Path(out_dir)
    found = [out / name for name in RUN_RECORDS if (out / name).exists()]
    if not found:
        return None
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(max(p.stat().st_mtime for p in found)))
    target = out / "previous" / stamp
    k = 1
    while target.exists():
        target, k = out / "previous" / f"{stamp}-{k}", k + 1
    target.mkdir(parents=True)
    for p in found:
        os.replace(p, target / p.name)
    return target


def train(cfg: ExperimentConfig, env=None, console: Console | None = None) -> dict:
    console = console or Console(stderr=True)
    require_v0("training (train_minimal.py, train_ultra_minimal.py)")
    cfg.validate()
    t = cfg.training
    os.environ.setdefault("OMP_NUM_THREADS", str(t.num_threads))
    for key, value in tracker_env(cfg).items():
        os.environ.setdefault(key, value)
    backend, why = select_backend(cfg)
    main = is_main_process()
    if main:
        console.print(f"[bold]backend:[/] {escape(f'{backend} ({why})')}")
        if not resolve_resume_checkpoint(cfg):
            moved = archive_previous_run(t.output_dir)
            if moved is not None:
                console.print(f"an earlier run's records were moved to {escape(str(moved))}")
        save_config(cfg, t.output_dir)
    for reward in cfg.rewards:  # unknown names fail before any model or data work
        from ..rewards import get_reward

        get_reward(reward.name)
    model_path = resolve_model(cfg.model.name_or_path, cfg.model.revision, console)  # fails before data work
    if env is None:
        env = build_env(cfg)
    if cfg.model.reasoning_vocab_size:
        model_path = reasoning_vocab_stage(cfg, model_path, console)
    if backend != "trl":  # once, for the warm-up's baseline evaluation and GRPO alike
        from .vf_backend import wait_for_server

        wait_for_server(cfg, console)
    if cfg.warmup.enabled:
        model_path = warmup_stage(cfg, env, model_path, backend, console)
    if backend == "trl":
        from .trl_backend import train_trl

        result = train_trl(cfg, env, model_path, console, after_warmup=cfg.warmup.enabled)
    else:
        from .vf_backend import train_verifiers

        result = train_verifiers(cfg, env, model_path, console, after_warmup=cfg.warmup.enabled)
    result = {"backend": backend, "output_dir": t.output_dir, **result}
    if main:
        (Path(t.output_dir) / "train_results.json").write_text(json.dumps(result, indent=1, default=str))
        from ..curves import write_training_curves

        chart = write_training_curves(t.output_dir)  # never fails a finished run: a data problem is one warning
        if chart is not None:
            console.print(f"training curves: {escape(str(chart))}")
    return result
