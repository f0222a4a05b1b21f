"""`rgv eval` against fake endpoints: the request every path sends, provenance, failed requests,
one-line errors. (The same against the real llama.cpp server: test_eval_consistency.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from test_bench import Flaky
from test_vf_eval import references

BIN = Path(sys.executable).parent
ARGS = {"num_eval_examples": 3, "num_train_examples": 0}
PROVENANCE_KEYS = {"rg_verifiers", "verifiers", "reasoning_gym", "git_commit", "base_url", "model", "label", "env_id",
                   "env_args", "generation", "quantization", "served", "weights"}
OURS = ("max_tokens", "max_completion_tokens", "temperature", "top_p", "seed")


def run(tool, *args, cwd, timeout=600):
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env=dict(os.environ, OPENAI_API_KEY="test"))


def saved(cwd: Path) -> list[Path]:
    return sorted((cwd / "outputs" / "evals").glob("*/*"), key=lambda p: p.stat().st_mtime)


def rows_of(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines() if line.strip()]


def sent(bodies: list[dict]) -> dict[str, dict]:
    """Per question: the generation fields of its request."""
    out = {}
    for b in bodies:
        question = [m["content"] for m in b["messages"] if m["role"] == "user"][-1]
        out[question] = {k: b[k] for k in OURS if k in b}
    return out


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI(references("leg_counting", ARGS)) as server:
        yield server


def test_every_path_sends_the_same_request_and_eval_records_provenance(tmp_path, fake):
    # a bare task name, as `rgv show` and `rgv bench` take it
    ev = run("rgv", "eval", "leg_counting", "-m", "gold", "-b", fake.base_url, "-n", "3", "-t", "8", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    by_eval = sent(fake.bodies[-3:])
    assert len(by_eval) == 3
    # max_tokens alone (llama.cpp ignores max_completion_tokens); greedy; per-item seeds
    assert all(f["max_tokens"] == 8 and "max_completion_tokens" not in f and f["temperature"] == 0.0
               and f["top_p"] == 1.0 for f in by_eval.values())
    assert sorted(f["seed"] for f in by_eval.values()) == [0, 1009, 2018]

    folder = saved(tmp_path)[-1]
    meta = json.loads((folder / "metadata.json").read_text())
    prov = meta["rgv_provenance"]
    assert set(prov) == PROVENANCE_KEYS
    assert prov["generation"] == {"max_tokens": 8, "temperature": 0.0, "top_p": 1.0, "seed": 0}
    assert (prov["model"], prov["label"], prov["env_id"], prov["base_url"]) == ("gold", "gold", "rg-leg-counting", fake.base_url)
    assert prov["env_args"]["num_examples"] == 3 and prov["env_args"]["seed"] == 0 and prov["quantization"] is None
    assert prov["verifiers"] and prov["reasoning_gym"] == "0.1.25"
    assert meta["env_id"] == "rg-leg-counting" and meta["num_examples"] == 3  # still vf-eval's format
    rows = rows_of(folder)
    assert [r["reward"] for r in rows] == [1.0] * 3 and all(r["completion_tokens"] == 5 for r in rows)
    assert "Let me work it out." in ev.stdout  # sample completions
    table = next(line for line in ev.stdout.splitlines() if line.startswith("│ leg_counting"))
    assert "│      5 │" in table  # the tokens column holds numbers

    # plain vf-eval through the environment: the same request per item
    vf = run("vf-eval", "rg-leg-counting", "-m", "gold", "-b", fake.base_url, "-n", "3", "-r", "1", "-t", "8",
             "-a", json.dumps(ARGS), "-s", cwd=tmp_path)
    assert vf.returncode == 0, vf.stderr[-3000:]
    assert sent(fake.bodies[-3:]) == by_eval
    vf_meta = json.loads((saved(tmp_path)[-1] / "metadata.json").read_text())
    assert vf_meta["sampling_args"]["rgv_generation"] == prov["generation"]  # recorded by plain vf-eval too

    bench = run("rgv", "bench", "--models", f"mine=gold@{fake.base_url}", "--tasks", "leg_counting", "-n", "3", "-t", "8",
                "-o", str(tmp_path / "bench"), "--no-plot", cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr[-3000:]
    assert sent(fake.bodies[-3:]) == by_eval


class RefusesMaxTokens(Flaky):
    """An OpenAI reasoning model: refuses max_tokens, wants max_completion_tokens."""

    def __init__(self, refs):
        super().__init__([], refs)
        handler, server = self.server.RequestHandlerClass, self
        self.bodies = []

        class Handler(handler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                server.bodies.append(body)
                if "max_tokens" in body:
                    return self._send(400, {"error": {
                        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                                   "Use 'max_completion_tokens' instead.",
                        "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}})
                q = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                     "role": "assistant", "content": f"<answer>{server.refs.get(q, '')}</answer>"}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}})

        self.server.RequestHandlerClass = Handler


def test_an_endpoint_that_refuses_max_tokens_gets_max_completion_tokens(tmp_path):
    with RefusesMaxTokens(references("leg_counting", ARGS)) as server:
        ev = run("rgv", "eval", "rg-leg-counting", "-b", server.base_url, "-n", "3", "-t", "16", cwd=tmp_path)
        assert ev.returncode == 0, ev.stderr[-3000:]
        assert [r["reward"] for r in rows_of(saved(tmp_path)[-1])] == [1.0] * 3
        assert server.bodies[-1].get("max_completion_tokens") == 16 and "max_tokens" not in server.bodies[-1]
        bench = run("rgv", "bench", "--models", f"o={server.base_url}", "--tasks", "leg_counting", "-n", "3", "-t", "16",
                    "-o", str(tmp_path / "bench"), "--no-plot", cwd=tmp_path)
        assert bench.returncode == 0, bench.stderr[-3000:]
        assert server.bodies[-1].get("max_completion_tokens") == 16 and "max_tokens" not in server.bodies[-1]


def test_failed_requests_are_errors_not_scores(tmp_path):
    refs = references("leg_counting", {**ARGS, "num_eval_examples": 4})
    with Flaky([400, 400], refs) as some:  # the first two requests are refused
        ev = run("rgv", "eval", "leg_counting", "-m", "gold", "-b", some.base_url, "-n", "4", "-c", "1",
                 "-a", json.dumps({"num_eval_examples": 4}), cwd=tmp_path)
    assert ev.returncode == 1, ev.stderr[-3000:]
    assert "2 of 4 requests failed" in ev.stderr and "left out of accuracy" in ev.stderr
    rows = rows_of(saved(tmp_path)[-1])
    assert sum(1 for r in rows if r["error"] not in (None, "None")) == 2

    with Flaky([], forever=400) as none:
        ev = run("rgv", "eval", "leg_counting", "-m", "gold", "-b", none.base_url, "-n", "2", cwd=tmp_path)
    lines = [ln for ln in ev.stderr.splitlines() if ln.strip() and not ln.startswith("evaluating ")]
    assert ev.returncode == 2 and len(lines) == 1 and "all 2 requests" in lines[0] and "nothing was scored" in lines[0], ev.stderr


@pytest.mark.parametrize("args,expected", [
    (["leg_counting", "-b", "http://127.0.0.1:{port}/v1", "-m", "x"], "cannot reach http://127.0.0.1:{port}/v1"),
    (["rg-leg-counting", "-b", "{url}", "-m", "gold", "-a", '{"config": {"max_animal": 3}}'], "unknown config field 'max_animal'"),
    (["leg_counting", "-b", "{url}", "-m", "gold", "-a", '{"num_eval": 3}'], "unknown environment argument 'num_eval'"),
    (["rg-composite", "-b", "{url}", "-m", "gold", "-a", '{"tasks": ["leg_counting", "leg_counting"]}'], "repeated"),
    (["leg_countin", "-b", "{url}", "-m", "gold"], "did you mean 'leg_counting'"),
    (["leg_counting", "-b", "{url}", "-m", "nobody"], "does not serve a model named 'nobody'"),
    (["leg_counting", "-b", "{url}", "-m", "gold", "-T", "-1"], "temperature must be"),
])
def test_bad_input_is_one_line(tmp_path, fake, args, expected):
    port = 9  # nothing listens there (the discard port), as in test_bench
    args = [a.replace("{port}", str(port)).replace("{url}", fake.base_url) for a in args]
    out = run("rgv", "eval", *args, "-n", "2", cwd=tmp_path)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode == 2 and len(lines) == 1 and expected.replace("{port}", str(port)) in lines[0], out.stderr
    assert not (tmp_path / "outputs").exists()  # nothing half-written


def test_generation_settings_resolution():
    from rg_verifiers.errors import RGVError
    from rg_verifiers.generation import GenerationSettings, request_sampling_args

    assert GenerationSettings.resolve().as_dict() == {"max_tokens": 1024, "temperature": 0.0, "top_p": 1.0, "seed": 0}
    assert GenerationSettings.resolve(rollouts_per_example=4).temperature == 1.0  # pass@k needs distinct samples
    # what vf-eval passes: -t as max_tokens (None when unset), -T only when given, -S merged in
    vf = GenerationSettings.from_sampling_args({"n": 1, "extra_body": {}, "max_tokens": None, "seed": 7})
    assert vf == GenerationSettings(seed=7)
    args = vf.sampling_args({"n": 1, "extra_body": {"chat_template_kwargs": {"x": 1}}, "max_tokens": 99})
    assert GenerationSettings.from_sampling_args(args) == vf  # idempotent: the key carries the settings
    req = request_sampling_args(args, vf, example_id=2, rollout=1)
    assert req == {"n": 1, "temperature": 0.0, "top_p": 1.0, "seed": vf.seed_for(2, 1),
                   "extra_body": {"chat_template_kwargs": {"x": 1}, "max_tokens": 1024}}
    assert GenerationSettings(seed=None).request_fields(3, 0) == {"max_tokens": 1024, "temperature": 0.0, "top_p": 1.0}
    for bad in (dict(max_tokens=0), dict(temperature=-0.1), dict(top_p=0), dict(seed=-1), dict(max_tokens=True)):
        with pytest.raises(RGVError):
            GenerationSettings(**bad)


def test_progress_bar_with_count_and_eta_on_a_terminal(tmp_path, fake):
    import fcntl
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child: a 120-column terminal (a pty starts at 0 columns, where tqdm draws nothing)
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.chdir(tmp_path)
        os.environ["OPENAI_API_KEY"] = "test"
        os.execv(str(BIN / "rgv"), ["rgv", "eval", "leg_counting", "-m", "gold", "-b", fake.base_url, "-n", "3"])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace").replace("\r", "\n")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    bar = [line for line in text.splitlines() if "3/3 [" in line]
    assert bar and "<" in bar[-1], text[-2000:]  # count and elapsed<remaining


GENERIC_ENV = '''
import verifiers as vf
from datasets import Dataset


def load_environment(**kwargs):
    rows = [{"question": q, "answer": a} for q, a in QUESTIONS.items()]

    def exact(completion, answer, **kw):
        return float(f"<answer>{answer}</answer>" in completion[-1]["content"])

    return vf.SingleTurnEnv(eval_dataset=Dataset.from_list(rows), rubric=vf.Rubric(funcs=[exact]))
'''


def test_any_verifiers_environment(tmp_path, fake):
    """Not only ours: an installed environment gets the same settings, minus the per-item seeds."""
    refs = dict(list(fake.references.items())[:2])
    (tmp_path / "my_env.py").write_text(f"QUESTIONS = {refs!r}\n" + GENERIC_ENV)
    before = len(fake.bodies)
    out = subprocess.run([str(BIN / "rgv"), "eval", "my-env", "-m", "gold", "-b", fake.base_url, "-n", "2", "-t", "9"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600,
                         env=dict(os.environ, OPENAI_API_KEY="test", PYTHONPATH=str(tmp_path)))
    assert out.returncode == 0, out.stderr[-3000:]
    bodies = fake.bodies[before:]
    assert len(bodies) == 2 and all(b["max_tokens"] == 9 and b["temperature"] == 0.0 and b["seed"] == 0
                                    and "rgv_generation" not in b for b in bodies)
    folder = saved(tmp_path)[-1]
    assert [r["reward"] for r in rows_of(folder)] == [1.0, 1.0]
    prov = json.loads((folder / "metadata.json").read_text())["rgv_provenance"]
    assert prov["env_id"] == "my-env" and prov["env_args"] == {"num_examples": 2}
