"""Serve a GGUF model (the embedded one by default) through llama-cpp-python's OpenAI server.

Chosen over vLLM's CPU build by measurement on the 2-core machine: llama.cpp starts in ~1 s
and serves the embedded model at ~56 tok/s (1 request) / ~106 tok/s (8 concurrent); vLLM-CPU
needs 3-4 min of start-up and gave 12.5 / 31.7 tok/s (see README, "Serving on CPU").

The server never outlives its owner: `served()` turns SIGTERM into a normal exit (so its
`finally` stops the server, as Ctrl-C does), and on Linux the server also gets SIGTERM from the
kernel when the process that started it dies for any other reason (PR_SET_PDEATHSIG; SIGKILL
included). It runs in its own session, so Ctrl-C in a terminal reaches only its owner, which
then stops it and says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
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

from .embedded import EMBEDDED_NAME, gguf_path, is_embedded
from .errors import RGVError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base_url: str
    model: str
    proc: subprocess.Popen
    log_path: Path

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


# runs llama_cpp.server after asking the kernel for SIGTERM when the parent dies; exits at once
# if the parent is already gone (it died between fork and prctl)
_DIE_WITH_PARENT = """
import ctypes, os, runpy, signal, sys
parent = int(sys.argv.pop(1))
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != parent:
    sys.exit(0)
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def start_server(model: str | None = None, port: int | None = None, threads: int = 1, n_ctx: int = 4096,
                 host: str = "127.0.0.1", timeout_s: float = 120.0, log_path: Path | None = None) -> Server:
    """Start llama.cpp's server for `model` (embedded, or a .gguf path) and wait until it answers."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise RGVError("llama-cpp-python is not installed: run ./setup.sh, or `pip install 'rg-verifiers[serve]'`")
    path = gguf_path() if is_embedded(model) else Path(model)
    if not path.is_file() or path.suffix != ".gguf":
        raise RGVError(f"the CPU server needs a .gguf file or 'embedded', got {model!r}; serve HF checkpoints with vLLM on a GPU")
    alias = EMBEDDED_NAME if is_embedded(model) else path.stem
    port = port or free_port()
    log_path = log_path or Path(tempfile.mkstemp(prefix="rgv-llama-", suffix=".log")[1])
    args = ["--model", str(path), "--model_alias", alias, "--host", host, "--port", str(port), "--n_ctx", str(n_ctx),
            "--n_threads", str(threads), "--n_threads_batch", str(threads), "--verbose", "False"]
    # the death signal follows the *thread* that forks: only the main thread lives as long as we do
    if sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread():
        cmd = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *args]
    else:
        cmd = [sys.executable, "-m", "llama_cpp.server", *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(f"http://{host}:{port}/v1", alias, proc, log_path)
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
def served(model: str | None = None, **kwargs):
    """Start a server with a spinner, yield it, always stop it."""
    from rich.console import Console

    console = Console(stderr=True)
    restore = _exit_on_sigterm()
    try:
        with console.status(f"starting llama.cpp server for {model or EMBEDDED_NAME} ..."):
            t0 = time.monotonic()
            server = start_server(model, **kwargs)
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
