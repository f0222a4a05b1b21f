"""What produced a results file: versions, checkout, endpoint, model, env args, generation settings.

`collect(...)` gives one flat object with the same keys everywhere:
  rg_verifiers, verifiers, reasoning_gym  package versions (None if not installed)
  git_commit     HEAD of the checkout rg_verifiers was imported from, None outside a checkout
  base_url       the endpoint the requests went to
  model          the model name sent in each request (what the server serves)
  label          what the user called the model (`embedded`, NAME of NAME=URL, a path, an id)
  env_id         e.g. rg-leg-counting
  env_args       the environment arguments that decide the items and prompts
  generation     GenerationSettings.as_dict(): max_tokens, temperature, top_p, seed
  quantization   e.g. "Q4_1" for the embedded GGUF, "F32" for a checkpoint served on CPU, None when unknown
  served         what a CPU server started for the run loaded (serve.resolve_model: the checkpoint
                 folder and its GGUF export, format, converter, engine); None for endpoints
  weights        weights_digest of a local model's files (checkpoint folder, GGUF, LoRA adapter): what
                 `rgv bench --resume` compares; None for endpoints, hub ids and the embedded model
It is written as `rgv_provenance` in a vf-eval folder's metadata.json (`rgv eval`), as top-level
`provenance` in `rgv bench` results files, and next to each rollouts JSONL.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import subprocess
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Mapping, Optional

from .embedded import EMBEDDED_HF_ID, GGUF_FILE, is_embedded

KEYS = ("rg_verifiers", "verifiers", "reasoning_gym", "git_commit", "base_url", "model", "label", "env_id",
        "env_args", "generation", "quantization", "served", "weights")
# read from the GGUF header with gguf.GGUFReader: general.file_type = MOSTLY_Q4_1 (210 Q4_1 tensors,
# 61 F32, 1 Q8_0); a constant, because importing gguf costs seconds on every run
EMBEDDED_QUANTIZATION = "Q4_1"
_GGUF_TYPE = re.compile(r"(?<![A-Za-z0-9])(I?Q\d+(?:_[A-Z0-9]+)*|BF16|F16|F32)(?![A-Za-z0-9])", re.IGNORECASE)


def _version(dist: str) -> Optional[str]:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=None)
def package_versions() -> dict[str, Optional[str]]:
    return {"rg_verifiers": _version("rg-verifiers"), "verifiers": _version("verifiers"),
            "reasoning_gym": _version("reasoning-gym")}


@functools.lru_cache(maxsize=None)
def git_commit() -> Optional[str]:
    """HEAD of the checkout this package runs from (an installed wheel has none)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def quantization_of(model: Optional[str]) -> Optional[str]:
    """The weight format when it is known: the embedded GGUF, a GGUF file name, a checkpoint's
    quantization_config; None for endpoints (nothing in the OpenAI API says)."""
    if not model:
        return None
    if is_embedded(model) or model == EMBEDDED_HF_ID:
        return EMBEDDED_QUANTIZATION
    name = Path(model).name
    if name == GGUF_FILE:
        return EMBEDDED_QUANTIZATION
    if name.lower().endswith(".gguf"):
        m = _GGUF_TYPE.findall(Path(name).stem)
        return m[-1].upper() if m else None
    config = Path(model) / "config.json"
    if config.is_file():
        try:
            q = json.loads(config.read_text(encoding="utf-8")).get("quantization_config") or {}
        except (OSError, ValueError):
            return None
        method = q.get("quant_method") if isinstance(q, dict) else None
        if method:
            bits = q.get("bits") or q.get("w_bit")
            return f"{method}-{bits}bit" if bits else str(method)
    return None


def rg_env_args(env_args: Optional[Mapping[str, Any]], num_examples: int, tasks: Any = None) -> dict[str, Any]:
    """The arguments of an rg environment that decide its items and prompts, defaults filled in,
    so that runs given the same arguments in different words carry the same env_args."""
    from .envargs import env_arg_defaults

    given = dict(env_args or {})
    defaults = env_arg_defaults()
    # what changes items, prompts or scores (`scoring` and the timeout only move where scoring runs)
    keys = [k for k in ("config", "difficulty", "seed", "system_prompt", "prompt_placement", "partial_credit") if k in defaults]
    out = {k: given.get(k, defaults[k]) for k in keys}
    out["config"] = out["config"] or None
    out["num_examples"] = num_examples
    if given.get("rg_items") is not None:  # reasoning-gym items mode (a suite's task); absent otherwise, as before
        out["rg_items"] = given["rg_items"]
    if tasks is not None or "tasks" in given:
        out["tasks"] = given.get("tasks", tasks)
    return out


def collect(*, base_url: Optional[str], model: Optional[str], label: Optional[str], env_id: Optional[str],
            env_args: Optional[Mapping[str, Any]], generation: Any, quantization: Optional[str] = None,
            served: Optional[Mapping[str, Any]] = None, weights: Optional[str] = None) -> dict[str, Any]:
    gen = generation.as_dict() if hasattr(generation, "as_dict") else dict(generation or {})
    out = {**package_versions(), "git_commit": git_commit(), "base_url": base_url, "model": model,
           "label": label if label is not None else model, "env_id": env_id, "env_args": dict(env_args or {}),
           "generation": gen, "quantization": quantization, "served": dict(served) if served else None,
           "weights": weights}
    return {k: out[k] for k in KEYS}


def common(provenances: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One object for a file holding several (model, task) results: each key's shared value,
    None where they differ (each result keeps its own in `extra.provenance`)."""
    out: dict[str, Any] = {}
    for k in KEYS:
        values = [json.dumps(p.get(k), sort_keys=True, default=str) for p in provenances]
        out[k] = provenances[0].get(k) if provenances and len(set(values)) == 1 else None
    return out


def write_json_atomic(doc: Mapping[str, Any], path: Path) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def stamp(path: Path, provenance: Mapping[str, Any], key: str = "provenance") -> None:
    """Add `key` to a JSON object file (vf-eval's metadata.json, our results files), atomically."""
    path = Path(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc[key] = dict(provenance)
    write_json_atomic(doc, path)
