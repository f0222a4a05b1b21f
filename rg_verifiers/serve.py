"""Serve a model on CPU through llama-cpp-python's OpenAI server: the embedded GGUF (default), a
.gguf file, or a trained checkpoint folder, which `export` writes as GGUF f32 first (cached).

Chosen over vLLM's CPU build by measurement on the 2-core machine: llama.cpp starts in ~1 s
and serves the embedded model at ~56 tok/s (1 request) / ~106 tok/s (8 concurrent); vLLM-CPU
needs 3-4 min of start-up and gave 12.5 / 31.7 tok/s (see README, "Serving on CPU").

The server never outlives its owner: `served()` turns SIGTERM into a normal exit (so its
`finally` stops the server, as Ctrl-C does), and on Linux the server also gets SIGTERM from the
kernel when the process that started it dies for any other reason (PR_SET_PDEATHSIG; SIGKILL
included). It runs in its own session, so Ctrl-C in a terminal reaches only its owner, which
then stops it and says so.

Sampling is what the request asks for and nothing else. llama-cpp-python's server fills fields a
request leaves out with its own defaults, repeat_penalty 1.1, top_k 40 and min_p 0.05, which
OpenAI's API and vLLM do not have: the penalty applies even at temperature 0, and with it the
greedy completions of all 8 items compared differed from transformers' greedy ones. The server
is started with those defaults off (`SAMPLER_DEFAULTS`); then they were equal on all 8 (README,
"Evaluate a trained checkpoint on CPU").
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from .embedded import EMBEDDED_NAME, gguf_path, is_embedded
from .errors import RGVError

# request fields llama-cpp-python's server would otherwise default to repeat_penalty 1.1, top_k 40,
# min_p 0.05; these values switch each off (llama.cpp skips top-k for k <= 0)
SAMPLER_DEFAULTS = {"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class ServedModel:
    path: Path  # the .gguf file the server loads
    alias: str  # the model name requests use
    info: dict  # provenance's `served`: what was served, from what, how


@dataclass
class Server:
    base_url: str
    model: str
    proc: subprocess.Popen
    log_path: Path
    info: Optional[dict] = None

    @property
    def quantization(self) -> Optional[str]:
        """The weight format for provenance's `quantization`: "Q4_1" (embedded), "F32" (a checkpoint)."""
        fmt = (self.info or {}).get("format") or ""
        return fmt.removeprefix("GGUF").strip() or None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


# runs llama_cpp.server with SAMPLER_DEFAULTS as its request defaults; on Linux it first asks the
# kernel for SIGTERM when the parent dies, and exits at once if the parent is already gone (it
# died between fork and prctl). The defaults are set before the server's app module is imported,
# which is when its routes read the request models. Every request is evaluated from an empty KV
# cache: llama-cpp-python otherwise reuses the longest prompt prefix it shares with the previous
# request, so a prompt's logits depended on what ran before (a split batch rounds differently) and
# the same greedy item came back '... is 12' from one command and '... is 1.' from another (seen in
# tests/test_eval_consistency.py). Re-reading a ~60-token prompt costs far less than decoding.
_LAUNCHER = """
import ctypes, json, os, runpy, signal, sys
parent, defaults = int(sys.argv.pop(1)), json.loads(sys.argv.pop(1))
if parent:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent:
        sys.exit(0)
from llama_cpp.server import types
for model in (types.CreateCompletionRequest, types.CreateChatCompletionRequest):
    for name, value in defaults.items():
        model.model_fields[name].default = value
    model.model_rebuild(force=True)
from llama_cpp import Llama
_generate = Llama.generate
def _from_empty_cache(self, *args, **kwargs):
    self.reset()
    return _generate(self, *args, **kwargs)
Llama.generate = _from_empty_cache
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def _llama_cpp_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama_cpp_python")
    except PackageNotFoundError:
        return "unknown"


def resolve_model(model: Optional[str], alias: Optional[str] = None, console=None) -> ServedModel:
    """What the server will load for `model`: embedded, a .gguf file, or a checkpoint folder
    (converted to GGUF f32 unless cached; that can take a few seconds, with a spinner)."""
    from .export import export_checkpoint, is_checkpoint_dir
    from .provenance import quantization_of

    engine = {"engine": f"llama.cpp server (llama-cpp-python {_llama_cpp_version()})", "sampler_defaults": dict(SAMPLER_DEFAULTS)}
    if is_embedded(model):
        path = gguf_path()
        return ServedModel(path, alias or EMBEDDED_NAME, {"checkpoint": None, "format": f"GGUF {quantization_of(EMBEDDED_NAME)}",
                                                          "gguf": str(path), **engine})
    text = str(model)
    if text.endswith(".gguf"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise RGVError(f"no such GGUF file: {text}")
        q = quantization_of(text)
        return ServedModel(path, alias or path.stem, {"checkpoint": None, "format": f"GGUF {q}" if q else "GGUF",
                                                      "gguf": str(path.resolve()), **engine})
    if is_checkpoint_dir(text):
        path, info = export_checkpoint(text, console)
        return ServedModel(path, alias or text.rstrip("/") or text, {**info, **engine})
    if text.startswith(("/", "./", "../", "~")) or text.count("/") > 1:
        raise RGVError(f"no such checkpoint folder: {text}")
    raise RGVError(f"the CPU server serves 'embedded', a .gguf file or a checkpoint folder, got {model!r}; "
                   f"serve Hugging Face hub models with vLLM on a GPU and pass its URL")


def check_model(model: Optional[str]) -> None:
    """`resolve_model`'s one-line errors without converting anything (before an environment is built)."""
    from .export import inspect_checkpoint, is_checkpoint_dir

    if is_checkpoint_dir(model):
        inspect_checkpoint(str(model))
    elif is_embedded(model):
        gguf_path()
    elif str(model).endswith(".gguf") and not Path(str(model)).expanduser().is_file():
        raise RGVError(f"no such GGUF file: {model}")
    elif not str(model).endswith(".gguf"):
        resolve_model(model)  # not a folder nor a file: its error


def start_server(model: Union[str, ServedModel, None] = None, port: int | None = None, threads: int = 1, n_ctx: int = 4096,
                 host: str = "127.0.0.1", timeout_s: float = 120.0, log_path: Path | None = None) -> Server:
    """Start llama.cpp's server for `model` (embedded, a .gguf path, a checkpoint folder or a
    resolved ServedModel) and wait until it answers."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise RGVError("llama-cpp-python is not installed: run ./setup.sh, or `pip install 'rg-verifiers[serve]'`")
    target = model if isinstance(model, ServedModel) else resolve_model(model)
    port = port or free_port()
    log_path = log_path or Path(tempfile.mkstemp(prefix="rgv-llama-", suffix=".log")[1])
    args = ["--model", str(target.path), "--model_alias", target.alias, "--host", host, "--port", str(port), "--n_ctx", str(n_ctx),
            "--n_threads", str(threads), "--n_threads_batch", str(threads), "--verbose", "False"]
    # the death signal follows the *thread* that forks: only the main thread lives as long as we do
    die_with_parent = sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread()
    cmd = [sys.executable, "-c", _LAUNCHER, str(os.getpid() if die_with_parent else 0), json.dumps(SAMPLER_DEFAULTS), *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(f"http://{host}:{port}/v1", target.alias, proc, log_path, target.info)
    deadline = time.monotonic() + timeout_s
    try:
        while not _healthy(server.base_url):
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise RGVError(f"llama.cpp server exited with code {proc.returncode}: {tail[0]} (log: {log_path})")
            if time.monotonic() > deadline:
                raise RGVError(f"llama.cpp server did not answer within {timeout_s:.0f} s (log: {log_path})")
            time.sleep(0.2)
    except BaseException:  # Ctrl-C or SIGTERM while it starts, too
        server.stop()
        raise
    return server


@contextlib.contextmanager
def served(model: str | None = None, alias: Optional[str] = None, **kwargs):
    """Start a server with a spinner (after converting a checkpoint folder, if need be), yield it,
    always stop it. `alias`: the model name requests use (default: embedded, the GGUF's stem, the
    folder as given)."""
    from rich.console import Console

    console = Console(stderr=True)
    restore = _exit_on_sigterm()  # a SIGTERM during a conversion stops the converter too
    try:
        target = resolve_model(model, alias, console)
        with console.status(f"starting llama.cpp server for {model or EMBEDDED_NAME} ..."):
            t0 = time.monotonic()
            server = start_server(target, **kwargs)
        console.print(f"[green]server ready[/] at {server.base_url} in {time.monotonic() - t0:.1f} s (model '{server.model}')",
                      highlight=False)
        try:
            yield server
        finally:
            server.stop()
            console.print("server stopped")
    finally:
        restore()


def _exit_on_sigterm():
    """SIGTERM raises SystemExit (exit status 143) so that `finally` blocks run; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):  # someone else handles it already
        return lambda: None

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)

    def restore():
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, previous)

    return restore
