"""`rgv serve` never leaves its llama.cpp server behind: Ctrl-C, SIGTERM, even SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rg_verifiers.serve import _healthy, free_port

pytestmark = pytest.mark.slow
RGV = str(Path(sys.executable).parent / "rgv")


def _answers(port: int) -> bool:
    return _healthy(f"http://127.0.0.1:{port}/v1")


def _server_pids(port: int) -> list[int]:
    """Processes whose command line serves this port (the llama.cpp server, whatever its parent)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--port" in cmd and str(port).encode() in cmd and any(b"llama_cpp" in c for c in cmd):
                pids.append(int(proc.name))
    return pids


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_serve_always_stops_its_server(sig):
    port = free_port()
    proc = subprocess.Popen([RGV, "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    while not any("server ready" in line for line in seen):
        line = proc.stderr.readline()
        assert line or proc.poll() is None, "".join(seen)
        seen.append(line)
    assert _answers(port) and _server_pids(port)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig != signal.SIGKILL:  # a clean stop, said so
        assert proc.returncode in (0, 128 + sig) and "server stopped" in err, (proc.returncode, err)
    deadline = time.monotonic() + 30
    while (_server_pids(port) or _answers(port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _answers(port) and not _server_pids(port)
