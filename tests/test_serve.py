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



def test_a_prompt_gets_the_same_logits_whatever_the_server_ran_before():
    """llama-cpp-python reuses the KV cache of the prompt prefix a request shares with the previous one; the
    split evaluation rounds differently, so greedy items flipped between commands (test_eval_consistency
    saw '... is 12' against '... is 1.'). The server we start evaluates every request from an empty
    cache: the same prompt gets the same log-probs, bit for bit, after any other request.
    Measured without that: eval item 1 below got two different sets of log-probs over these six
    predecessors."""
    import json
    import urllib.request

    import reasoning_gym

    from rg_verifiers.protocol import build_messages
    from rg_verifiers.serve import served

    questions = [e["question"] for e in reasoning_gym.create_dataset("leg_counting", seed=10_000_042, size=6)]

    def ask(server, question: str):
        body = {"model": server.model, "messages": build_messages(question), "max_tokens": 8, "temperature": 0.0,
                "logprobs": True, "top_logprobs": 2}
        request = urllib.request.Request(f"{server.base_url}/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as r:
            choice = json.loads(r.read())["choices"][0]
        return choice["message"]["content"], json.dumps(choice["logprobs"])

    with served("embedded") as server:
        answers = set()
        for before in questions:  # each shares the system prompt and more or less of the question with the target
            ask(server, before)
            answers.add(ask(server, questions[1]))
    assert len(answers) == 1, answers
    assert json.loads(next(iter(answers))[1])["content"]  # the server returned log-probs to compare
