"""Can this machine serve HF models itself (vLLM installed, a CUDA GPU visible, or a stand-in command)?
Asked both when a benchmark's models are read (`spec`) and when its servers start (`servers`)."""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from typing import Optional

VLLM_CMD_ENV = "RGV_VLLM_CMD"
DEFAULT_VLLM_CMD = [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]


def vllm_command() -> list[str]:
    override = os.environ.get(VLLM_CMD_ENV, "").strip()
    return shlex.split(override) if override else list(DEFAULT_VLLM_CMD)


def cuda_device_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver reads as no GPU
        return 0


def local_serving_problem() -> Optional[str]:
    """Why local HF models cannot be served here, or None when they can."""
    if os.environ.get(VLLM_CMD_ENV, "").strip():
        return None
    if importlib.util.find_spec("vllm") is None:
        return "vLLM is not installed here (./setup.sh --gpu installs it)"
    if not cuda_device_count():
        return "no CUDA GPU is visible"
    return None
