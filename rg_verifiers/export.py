"""A trained transformers checkpoint as a GGUF file for the llama.cpp CPU server (`rgv eval/bench/serve -m DIR`).

The checkpoint is written as GGUF **f32**, not re-quantised: served greedily it gave the same
completions as the training run's own in-process fp32 evaluation (`train.evaluation.hf_generate`)
on all 48 items of a warm-up checkpoint and on 23 of 24 of a perturbed one (the one difference
late in the text); f16 was 1.3-2x faster but changed 3 of those 24 mid-reasoning (README,
"Evaluate a trained checkpoint on CPU").

The converter is llama.cpp's own `convert_hf_to_gguf.py`, from the sdist of the pinned
llama-cpp-python (the same llama.cpp the server runs), with the `gguf-py` vendored next to it:
the `gguf` 0.19.0 wheel on PyPI lacks what this converter calls (`gguf.LazyChunkedTensor`).
`./setup.sh` installs it (`python -m rg_verifiers.export --install-converter`); a first
conversion without it fetches it the same way, with pip.

A LoRA adapter folder (adapter_config.json) is merged into the base model it names
(base_model_name_or_path: a local folder, the embedded model, or a model already in the Hugging
Face cache; nothing is downloaded) and the merged model converted.

Conversions are cached under $RGV_CACHE_DIR (default ~/.cache/rg-verifiers)/gguf/, one GGUF per
checkpoint folder, keyed by the name, size and mtime of its weight, config and tokenizer files
(and the base model's, for an adapter): a second evaluation reuses it, a retrained folder is
converted again and replaces its old GGUF. `rgv cache list` shows them, `rgv cache prune` removes them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Optional

from .embedded import cache_root
from .errors import RGVError

EXPORT_TYPE = "f32"
SDIST = "llama-cpp-python"
# what the converter needs from the sdist's vendor/llama.cpp: the script, its model classes,
# and the gguf-py it was written against
CONVERTER_PARTS = ("convert_hf_to_gguf.py", "conversion", "gguf-py")
# the files that decide a conversion's output; a training checkpoint's optimizer and RNG state do not
_INPUT_FILE = re.compile(r"(.*\.safetensors|.*\.safetensors\.index\.json|pytorch_model.*\.bin|config\.json|generation_config\.json"
                         r"|tokenizer.*|special_tokens_map\.json|vocab\.json|merges\.txt|added_tokens\.json|chat_template.*"
                         r"|adapter_config\.json|adapter_model.*)")


def llama_cpp_version() -> str:
    try:
        return version("llama_cpp_python")
    except PackageNotFoundError:
        raise RGVError("llama-cpp-python is not installed: run ./setup.sh, or `pip install 'rg-verifiers[serve]'`") from None


# ---------------------------------------------------------------------------------------------
# the converter


def converter_dir() -> Path:
    return cache_root() / "tools" / f"llama.cpp-convert-{llama_cpp_version()}"


def _converter_ready(folder: Path) -> bool:
    return (folder / ".complete").is_file() and all((folder / p).exists() for p in CONVERTER_PARTS)


def install_converter(quiet: bool = True) -> Path:
    """llama.cpp's converter from the installed llama-cpp-python version's sdist (pip download)."""
    target = converter_dir()
    if _converter_ready(target):
        return target
    from rich.console import Console

    ver = llama_cpp_version()
    target.parent.mkdir(parents=True, exist_ok=True)
    with Console(stderr=True).status(f"fetching llama.cpp's HF->GGUF converter ({SDIST} {ver} sdist, once) ..."), \
            tempfile.TemporaryDirectory(prefix="rgv-convert-", dir=target.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"{SDIST}=={ver}", "--no-deps", "--no-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        sdists = list(Path(tmp).glob("*.tar.gz"))
        if done.returncode or not sdists:
            lines = [ln for ln in (done.stderr or done.stdout).strip().splitlines() if "WARNING" not in ln]
            raise RGVError(f"cannot fetch llama.cpp's HF->GGUF converter ({SDIST}=={ver} sdist with pip): "
                           f"{lines[-1] if lines else done.returncode}")
        staging = Path(tmp) / "converter"
        with tarfile.open(sdists[0]) as tar:
            prefix = f"{tar.getmembers()[0].name.split('/')[0]}/vendor/llama.cpp/"
            wanted = [m for m in tar.getmembers() if m.name.startswith(prefix)
                      and m.name[len(prefix):].split("/")[0] in CONVERTER_PARTS and (m.isfile() or m.isdir())
                      and ".." not in m.name.split("/")]
            for m in wanted:
                m.name = m.name[len(prefix):]
            # the safe extraction filter exists from Python 3.11.4; plain files and folders only, no '..', either way
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(staging, members=wanted, **kwargs)
        missing = [p for p in CONVERTER_PARTS if not (staging / p).exists()]
        if missing:
            raise RGVError(f"the {SDIST}=={ver} sdist has no vendor/llama.cpp/{missing[0]}; cannot convert checkpoints to GGUF")
        (staging / ".complete").write_text(f"{SDIST}=={ver} {sdists[0].name}\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    if not quiet:
        print(f"llama.cpp HF->GGUF converter ({SDIST} {ver}) in {target}")
    return target


@functools.lru_cache(maxsize=None)
def supported_architectures(folder: Path) -> frozenset[str]:
    """The HF `architectures` names the converter registers (read from its sources, not imported:
    importing it takes seconds and puts its own gguf on the path)."""
    names: set[str] = set()
    for src in (folder / "conversion").glob("*.py"):
        for args in re.findall(r"ModelBase\.register\(([^)]*)\)", src.read_text(encoding="utf-8", errors="replace")):
            names.update(re.findall(r"[\"']([A-Za-z0-9_]+)[\"']", args))
    return frozenset(names)


# ---------------------------------------------------------------------------------------------
# checkpoints


@dataclass(frozen=True)
class Checkpoint:
    path: Path  # the folder, resolved
    architecture: str
    base: Optional[Path] = None  # a LoRA adapter's base model folder
    base_name: Optional[str] = None  # base_model_name_or_path as the adapter names it

    @property
    def is_adapter(self) -> bool:
        return self.base is not None


def is_checkpoint_dir(model: Optional[str]) -> bool:
    return bool(model) and not str(model).endswith(".gguf") and Path(str(model)).expanduser().is_dir()


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RGVError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise RGVError(f"{path} is not a JSON object")
    return data


def _architecture(config_dir: Path, what: str) -> str:
    config = config_dir / "config.json"
    if not config.is_file():
        raise RGVError(f"{what} is not a transformers checkpoint: no config.json (nor adapter_config.json) in it")
    archs = _read_json(config).get("architectures") or []
    if not archs or not isinstance(archs, list):
        raise RGVError(f"{config} names no architectures; cannot tell how to convert it to GGUF")
    return str(archs[0])


def _resolve_base(name: str, adapter_dir: Path) -> Optional[Path]:
    from .embedded import hf_model_dir, is_embedded

    if is_embedded(name):
        return hf_model_dir()
    for candidate in (Path(name).expanduser(), adapter_dir / name):
        if (candidate / "config.json").is_file():
            return candidate.resolve()
    if re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        with contextlib.suppress(Exception):  # not in the local Hugging Face cache, or no huggingface_hub
            from huggingface_hub import snapshot_download

            found = Path(snapshot_download(name, local_files_only=True))
            if (found / "config.json").is_file():
                return found
    return None


def inspect_checkpoint(model: str) -> Checkpoint:
    """The checkpoint folder checked before anything is loaded: one line for each way it can be wrong."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise RGVError(f"no such checkpoint folder: {model}")
    folder = folder.resolve()
    adapter = folder / "adapter_config.json"
    if adapter.is_file():
        base_name = _read_json(adapter).get("base_model_name_or_path")
        if not base_name:
            raise RGVError(f"{adapter} has no base_model_name_or_path; cannot tell which model the adapter belongs to")
        base = _resolve_base(str(base_name), folder)
        if base is None:
            raise RGVError(f"the base model of LoRA adapter {model}, {base_name!r}, is not on this machine (not a folder with "
                           f"config.json, nor in the Hugging Face cache; nothing is downloaded): put it there or fix "
                           f"base_model_name_or_path in {adapter}")
        arch, what = _architecture(base, f"{base} (base of {model})"), f"base model {base_name!r}"
    else:
        base = base_name = None
        arch, what = _architecture(folder, model), model
    from .reasoning_vocab import refuse_served_reasoning_vocab

    refuse_served_reasoning_vocab(str(base if base is not None else folder), model)
    if arch not in supported_architectures(install_converter()):
        raise RGVError(f"{what} is a {arch}, which llama.cpp's GGUF converter ({SDIST} {llama_cpp_version()}) does not "
                       f"support; serve it with vLLM on a GPU (rgv bench on a GPU node, or NAME=URL)")
    return Checkpoint(folder, arch, base, str(base_name) if base_name else None)


def _fingerprint(ckpt: Checkpoint) -> str:
    def files(folder: Path) -> list:
        out = []
        for p in sorted(folder.iterdir()):
            if p.is_file() and _INPUT_FILE.fullmatch(p.name):
                st = p.stat()
                out.append([p.name, st.st_size, st.st_mtime_ns])
        return out

    doc = {"converter": f"{SDIST}=={llama_cpp_version()}", "type": EXPORT_TYPE, "files": files(ckpt.path),
           "base": files(ckpt.base) if ckpt.base else None}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _cache_dir(ckpt: Checkpoint) -> Path:
    parts = [p for p in ckpt.path.parts if p not in ("/", "")]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts[-2:])) or "checkpoint"
    return cache_root() / "gguf" / f"{name}-{hashlib.sha256(str(ckpt.path).encode()).hexdigest()[:12]}"


def served_info(ckpt: Checkpoint, gguf: Path) -> dict:
    """What provenance records of a served checkpoint."""
    return {"checkpoint": str(ckpt.path), "lora_base": ckpt.base_name, "architecture": ckpt.architecture,
            "format": f"GGUF {EXPORT_TYPE.upper()}", "gguf": str(gguf),
            "converter": f"llama.cpp convert_hf_to_gguf.py ({SDIST} {llama_cpp_version()})"}


def export_checkpoint(model: str, console=None) -> tuple[Path, dict]:
    """(GGUF path, provenance info) for a checkpoint folder, converting it unless the cache has it."""
    ckpt = inspect_checkpoint(model)
    out_dir = _cache_dir(ckpt)
    gguf = out_dir / f"model-{EXPORT_TYPE}.gguf"
    key = _fingerprint(ckpt)
    source = out_dir / "source.json"
    if gguf.is_file() and source.is_file():
        with contextlib.suppress(OSError, ValueError):
            if json.loads(source.read_text(encoding="utf-8")).get("key") == key:
                os.utime(source)  # last used, for `rgv cache list/prune`
                return gguf, served_info(ckpt, gguf)
    from rich.console import Console

    console = console or Console(stderr=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f"model-{EXPORT_TYPE}.gguf.tmp{os.getpid()}"
    what = f"{model} (LoRA adapter merged into {ckpt.base_name})" if ckpt.is_adapter else model
    try:
        with console.status(f"converting {what} to GGUF {EXPORT_TYPE} (once; cached in {out_dir}) ..."):
            with contextlib.ExitStack() as stack:
                src = ckpt.path
                if ckpt.is_adapter:
                    src = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rgv-merged-", dir=out_dir)))
                    _merge_adapter(ckpt, src)
                _convert(src, tmp, out_dir / "convert.log")
        os.replace(tmp, gguf)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    tmp_source = source.with_suffix(f".json.tmp{os.getpid()}")
    tmp_source.write_text(json.dumps({"key": key, **served_info(ckpt, gguf)}, indent=1), encoding="utf-8")
    os.replace(tmp_source, source)
    console.print(f"converted {what} to {gguf}", soft_wrap=True, highlight=False, markup=False)
    return gguf, served_info(ckpt, gguf)


def _merge_adapter(ckpt: Checkpoint, out: Path) -> None:
    try:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise RGVError(f"merging a LoRA adapter needs the train extra ({exc.name} is missing): pip install 'rg-verifiers[train]'") from None
    base = AutoModelForCausalLM.from_pretrained(ckpt.base, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(ckpt.path)).merge_and_unload()
    merged.save_pretrained(out)
    # the adapter folder's tokenizer is the one training used (trainers save it next to the adapter)
    has_tokenizer = any(ckpt.path.glob("tokenizer*"))
    AutoTokenizer.from_pretrained(ckpt.path if has_tokenizer else ckpt.base).save_pretrained(out)


def _convert(src: Path, out: Path, log_path: Path) -> None:
    conv = install_converter()
    cmd = [sys.executable, str(conv / "convert_hf_to_gguf.py"), str(src), "--outtype", EXPORT_TYPE, "--outfile", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "NO_LOCAL_GGUF"}  # its own gguf-py, never the installed one
    with open(log_path, "wb") as log:
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    if done.returncode or not out.is_file():
        raise RGVError(f"converting {src} to GGUF failed: {_failure_line(log_path)} (log: {log_path})")


def _failure_line(log_path: Path) -> str:
    lines = [ln.strip() for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("ERROR:") or re.match(r"[A-Za-z_.]+(Error|Exception): ", ln):
            return ln.removeprefix("ERROR:hf-to-gguf:")
    return lines[-1] if lines else "(no output)"


def main(argv: Optional[list[str]] = None) -> None:
    import argparse

    from .errors import run_cli

    parser = argparse.ArgumentParser(prog="python -m rg_verifiers.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--install-converter", action="store_true", help="fetch llama.cpp's HF->GGUF converter (setup.sh does)")
    parser.add_argument("checkpoint", nargs="?", help="a checkpoint folder to convert now (cached)")
    args = parser.parse_args(argv)
    if not args.install_converter and not args.checkpoint:
        parser.error("give --install-converter and/or a checkpoint folder")

    def work():
        if args.install_converter:
            install_converter(quiet=False)
        if args.checkpoint:
            print(export_checkpoint(args.checkpoint)[0])

    run_cli(work)


if __name__ == "__main__":
    main()
