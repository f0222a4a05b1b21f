"""`rgv bench`: models x tasks against fake endpoints, resume after kill, the vLLM server manager."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from rg_verifiers import serialization
from rg_verifiers.bench import build_spec, parse_model, run_bench
from rg_verifiers.bench.runner import prompt_hash
from rg_verifiers.bench.servers import (VLLM_CMD_ENV, Job, LocalServer, ServerError, gpu_groups, plan_jobs, run_jobs,
                                        visible_gpus)
from rg_verifiers.bench.spec import ModelSpec
from rg_verifiers.bench.store import RolloutStore, read_rollouts
from rg_verifiers.env import load_rg_environment
from rg_verifiers.errors import RGVError
from rg_verifiers.references import reference_answer
from rg_verifiers.results import load_results

RGV = str(Path(sys.executable).parent / "rgv")
TASKS = ["leg_counting", "basic_arithmetic", "chain_sum"]
ROLLOUT_KEYS = {"example_id", "rollout", "prompt_hash", "completion", "answer", "correct", "reward", "parse_failure",
                "status", "completion_tokens", "latency_s", "error"}
PROVENANCE_KEYS = {"rg_verifiers", "verifiers", "reasoning_gym", "git_commit", "base_url", "model", "label", "env_id",
                   "env_args", "generation", "quantization", "served", "weights"}


def rgv(*args, cwd=None, timeout=600, env=None):
    return subprocess.run([RGV, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


def eval_rows(task, n, seed=0):
    return load_rg_environment(task, num_eval_examples=n, num_train_examples=0, seed=seed).eval_dataset.to_list()


def references(tasks, n) -> dict[str, str]:
    refs = {}
    for task in tasks:
        for row in eval_rows(task, n):
            refs[row["question"]] = reference_answer(task, serialization.loads(row["info"]["entry"])) or ""
    return refs


@pytest.fixture(scope="module")
def refs():
    return references(TASKS, 10)


@pytest.fixture(scope="module")
def fake(refs):
    with FakeOpenAI(refs) as server:
        yield server


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- (1) models x tasks end to end ---------------------------------------------------------


def test_gold_and_wrong_on_three_tasks(tmp_path, fake):
    from PIL import Image

    out = tmp_path / "out"
    run = rgv("bench", "--models", f"gold={fake.base_url}", f"wrong={fake.base_url}", "--tasks", *TASKS, "-n", "5",
              "-o", str(out), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr

    all_files = list(out.glob("results_all_tasks_*.json"))
    task_files = sorted(out.glob("results_*_*.json"))
    assert len(all_files) == 1 and len(task_files) == 1 + len(TASKS)
    doc = json.loads(all_files[0].read_text())
    assert doc["schema"] == "rg-verifiers/results/v1" and doc["kind"] == "all_tasks"
    assert doc["config"]["n"] == 5 and doc["config"]["temperature"] == 0.0
    table = load_results(all_files[0])
    assert table.tasks == TASKS and table.models == ["gold", "wrong"]
    for task in TASKS:
        gold, wrong = table.get(task, "gold"), table.get(task, "wrong")
        assert gold.accuracy == 1.0 and gold.n_rollouts == 5 and gold.parse_failure_rate == 0.0
        assert wrong.accuracy < 0.2 and wrong.n_rollouts == 5
        assert gold.mean_completion_tokens == 5 and gold.mean_latency_s > 0
        per_task = json.loads((out / f"results_{task}_{doc['timestamp']}.json").read_text())
        assert per_task["kind"] == "task" and set(per_task["models"]) == {"gold", "wrong"}
        # provenance: each result its own, the file what they share (None where they differ)
        assert set(per_task["provenance"]) == PROVENANCE_KEYS
        assert per_task["provenance"]["label"] is None and per_task["provenance"]["env_id"] == "rg-" + task.replace("_", "-")
        for label in ("gold", "wrong"):
            prov = per_task["models"][label]["extra"]["provenance"]
            assert set(prov) == PROVENANCE_KEYS and (prov["label"], prov["model"]) == (label, label)
            assert prov["generation"] == {"max_tokens": 1024, "temperature": 0.0, "top_p": 1.0, "seed": 0}
            assert prov["env_args"]["num_examples"] == 5 and prov["base_url"] == fake.base_url
    assert doc["provenance"]["generation"]["max_tokens"] == 1024 and doc["provenance"]["env_id"] is None

    # the rollouts: one line per (example, rollout), on the environment's own items and prompts
    for task in TASKS:
        hashes = {r["example_id"]: prompt_hash(r["prompt"]) for r in eval_rows(task, 5)}
        for model in ("gold", "wrong"):
            rows = jsonl(out / "rollouts" / f"{model}__{task}.jsonl")
            assert len(rows) == 5 and ROLLOUT_KEYS <= set(rows[0])
            assert sorted((r["example_id"], r["rollout"]) for r in rows) == [(i, 0) for i in range(5)]
            assert all(r["prompt_hash"] == hashes[r["example_id"]] for r in rows)
            assert all(r["status"] == "ok" and r["parse_failure"] == 0 and r["error"] is None for r in rows)
            if model == "wrong":  # the LAST answer tag is the one scored
                assert all(r["answer"].startswith("definitely wrong") for r in rows)

    charts = sorted(out.glob("chart_*.png"))
    assert len(charts) == 2  # summary + heatmap
    for chart in charts:
        with Image.open(chart) as im:
            im.verify()
        with Image.open(chart) as im:
            assert im.format == "PNG" and im.size[0] > 500 and im.size[1] > 300

    # rgv plot on the same results: renames, delta chart
    plot = rgv("plot", str(all_files[0]), "-o", str(tmp_path / "p.png"), "--rename", "gold=Gold", "wrong=Wrong",
               "--baseline", "Wrong", "--finetuned", "Gold", cwd=tmp_path)
    assert plot.returncode == 0, plot.stderr[-2000:]
    for name in ("p.png", "p_heatmap.png", "p_delta.png"):
        with Image.open(tmp_path / name) as im:
            assert im.format == "PNG"

    # a second run into the same folder must not mix with the first
    again = rgv("bench", "--models", f"gold={fake.base_url}", "--tasks", "leg_counting", "-n", "5", "-o", str(out))
    assert again.returncode != 0 and "--resume" in again.stderr.strip().splitlines()[-1]


def test_endpoint_labels_discovery_and_failed_starts(tmp_path, fake, refs):
    out = tmp_path / "out"
    # NAME=URL: NAME is a label; an endpoint serving one model is asked for that model
    with Flaky([], refs) as one:
        run = rgv("bench", "--models", f"mine={one.base_url}", "--tasks", "leg_counting", "-n", "3", "-o", str(out),
                  "--no-plot", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = jsonl(out / "rollouts" / "mine__leg_counting.jsonl")
    assert len(rows) == 3 and all(r["correct"] == 1.0 and r["model"] == "mine" for r in rows)
    prov = json.loads((out / "rollouts" / "mine__leg_counting.provenance.json").read_text())["provenance"]
    assert (prov["label"], prov["model"], prov["base_url"]) == ("mine", "gold", one.base_url)

    # resuming with other generation settings would mix two experiments in one file
    again = rgv("bench", "--models", f"mine={fake.base_url}", "--tasks", "leg_counting", "-n", "3", "-t", "64",
                "-o", str(out), "--resume", "--no-plot", cwd=tmp_path)
    assert again.returncode == 2 and "use another --output-dir" in again.stderr and again.stderr.count("\n") == 1

    # several models served, none named NAME: say how to choose; a dead or wrong endpoint: no files
    for models, expected in ((f"mine={fake.base_url}", f"mine=MODEL@{fake.base_url}"),
                             (f"mine=nope@{fake.base_url}", "does not serve a model named 'nope'"),
                             ("mine=http://127.0.0.1:9/v1", "cannot reach")):
        fresh = tmp_path / "fresh"
        run = rgv("bench", "--models", models, "--tasks", "leg_counting", "-n", "2", "-o", str(fresh), cwd=tmp_path)
        lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
        assert run.returncode == 2 and len(lines) == 1 and expected in lines[0], run.stderr
        assert not fresh.exists() or not any(p.is_file() for p in fresh.rglob("*")), sorted(fresh.rglob("*"))

    # explicit MODEL@URL on a server with several models
    run = rgv("bench", "--models", f"mine=wrong@{fake.base_url}", "--tasks", "leg_counting", "-n", "2",
              "-o", str(tmp_path / "named"), "--no-plot", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert all(r["answer"].startswith("definitely wrong") for r in jsonl(tmp_path / "named" / "rollouts" / "mine__leg_counting.jsonl"))


# --- (2) the embedded model on a real llama.cpp server ---------------------------------------


@pytest.mark.slow
def test_embedded_model(tmp_path):
    out = tmp_path / "out"
    run = rgv("bench", "--models", "embedded", "--tasks", "leg_counting", "-n", "2", "--max-tokens", "32", "-o", str(out),
              cwd=tmp_path, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "server ready" in run.stderr and "server stopped" in run.stderr
    rows = jsonl(out / "rollouts" / "embedded__leg_counting.jsonl")
    assert len(rows) == 2 and all(r["completion"] for r in rows)
    assert all(0 < r["completion_tokens"] <= 32 and r["latency_s"] > 0 for r in rows)
    result = load_results(out).get("leg_counting", "embedded")
    assert result.n_rollouts == 2 and 0.0 <= result.accuracy <= 1.0
    assert list(out.glob("chart_*.png"))
    # the server is gone: its port no longer answers
    port = run.stderr.split("server ready at http://127.0.0.1:")[1].split("/")[0]
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)


# --- (3) killed mid-run, resumed: every rollout exactly once ---------------------------------


def _lines(out: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in (out / "rollouts").glob("*.jsonl")) if (out / "rollouts").exists() else 0


def _start_and_kill(args, out: Path, after_lines: int, sig) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([RGV, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _lines(out) < after_lines and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_resume_after_kill_is_exactly_once(tmp_path, refs):
    n, r, tasks = 8, 2, ["leg_counting", "chain_sum"]
    total = n * r * len(tasks)
    out = tmp_path / "out"
    with FakeOpenAI(refs, delay_s=0.15) as slow:
        args = ["bench", "--models", f"gold={slow.base_url}", "--tasks", *tasks,
                "-n", str(n), "-r", str(r), "-c", "2", "-o", str(out), "--no-plot"]
        first = _start_and_kill(args, out, 6, signal.SIGTERM)
        assert first.returncode == 128 + signal.SIGTERM, first.stderr[-2000:]
        assert "--resume" in first.stderr and "Traceback" not in first.stderr
        after_first = _lines(out)
        assert 6 <= after_first < total
        assert not list(out.glob("results_all_tasks_*.json"))  # no final results from a partial run

        second = _start_and_kill(args + ["--resume"], out, after_first + 6, signal.SIGKILL)
        assert second.returncode == -signal.SIGKILL
        # a torn last line, as a kill in the middle of a write leaves it
        with open(out / "rollouts" / "gold__chain_sum.jsonl", "ab") as f:
            f.write(b'{"example_id": 7, "rollout": 1, "prompt_ha')

        done = rgv(*args, "--resume")
        assert done.returncode == 0, done.stderr[-3000:]
        requests = slow.requests

    for task in tasks:
        path = out / "rollouts" / f"gold__{task}.jsonl"
        rows = jsonl(path)  # every line parses: the torn one was cut before appending
        keys = [(row["example_id"], row["rollout"]) for row in rows]
        assert sorted(keys) == [(e, k) for e in range(n) for k in range(r)], task
        assert all(row["correct"] == 1.0 for row in rows)
    table = load_results(next(out.glob("results_all_tasks_*.json")))
    assert all(table.get(t, "gold").n_rollouts == n * r and table.get(t, "gold").n_examples == n for t in tasks)
    # requests lost to the kills are bounded by what was in flight (2) or not yet flushed
    assert total <= requests <= total + 2 * 2 * 2

    # resuming a finished run asks nothing and writes the same numbers
    with FakeOpenAI(refs) as idle:
        again = rgv("bench", "--models", f"gold={idle.base_url}", "--tasks", *tasks, "-n", str(n), "-r", str(r),
                    "-o", str(out), "--no-plot", "--resume")
        assert again.returncode == 0 and idle.requests == 0

    # other items (another seed) must not be appended to these files
    other = rgv("bench", "--models", "gold=http://127.0.0.1:9/v1", "--tasks", *tasks, "-n", str(n), "-o", str(out),
                "--seed", "1", "--resume")
    assert other.returncode == 2 and "different prompt" in other.stderr


def test_store_drops_torn_tail_and_never_duplicates(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"example_id": 0, "rollout": 0, "v": 1}\n{"example_id": 0, "rollout": 0, "v": 2}\n'
                     b'not json\n{"example_id": 1, "rollout": 0, "v": 3}\n{"example_id": 2, "rol')
    records, good, bad = read_rollouts(path)
    assert set(records) == {(0, 0), (1, 0)} and records[(0, 0)]["v"] == 1 and bad == 1
    with pytest.raises(RGVError, match="--resume"):
        RolloutStore(path, resume=False)
    store = RolloutStore(path, resume=True)
    store.add({"example_id": 1, "rollout": 0, "v": 4})  # already there: ignored
    store.add({"example_id": 2, "rollout": 0, "v": 5})
    store.close()
    records, _, _ = read_rollouts(path)
    assert path.read_bytes().endswith(b'"v": 5}\n') and records[(2, 0)]["v"] == 5 and records[(1, 0)]["v"] == 3


# --- (4) the vLLM server manager with a fake vLLM executable ---------------------------------

FAKE_VLLM = textwrap.dedent('''
    """Stands in for `python -m vllm.entrypoints.openai.api_server` (same flags, /health, /v1)."""
    import argparse, json, os, subprocess, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    p = argparse.ArgumentParser()
    for flag in ("--model", "--host", "--port", "--tensor-parallel-size", "--lora-modules", "--max-lora-rank"):
        p.add_argument(flag)
    p.add_argument("--enable-lora", action="store_true")
    a = p.parse_args()
    rec = os.environ["FAKE_VLLM_RECORD"]
    # like vLLM's engine process: a child that must die with the server
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    json.dump({"pid": os.getpid(), "child": child.pid, "argv": sys.argv[1:], "model": a.model,
               "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}, open(os.path.join(rec, f"{os.getpid()}.json"), "w"))
    print("fake vllm starting", flush=True)
    if "dies" in a.model:
        print("fake vllm: CUDA out of memory", flush=True)
        sys.exit(3)
    if "hangs" in a.model:
        time.sleep(600)
    time.sleep(float(os.environ.get("FAKE_VLLM_STARTUP_S", "0")))
    refs = json.load(open(os.environ["FAKE_VLLM_REFS"])) if os.environ.get("FAKE_VLLM_REFS") else {}
    served = a.lora_modules.split("=")[0] if a.lora_modules else a.model

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.send({"data": [{"id": served}]} if self.path.endswith("/models") else {})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with open(os.path.join(rec, f"requests_{os.getpid()}.txt"), "a") as f:
                f.write(body["model"] + "\\n")
            q = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
            self.send({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": f"<answer>{refs.get(q, '')}</answer>"}}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}})

    ThreadingHTTPServer((a.host, int(a.port)), H).serve_forever()
''')


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch):
    script = tmp_path / "fake_vllm.py"
    script.write_text(FAKE_VLLM)
    record = tmp_path / "record"
    record.mkdir()
    monkeypatch.setenv(VLLM_CMD_ENV, f"{sys.executable} {script}")
    monkeypatch.setenv("FAKE_VLLM_RECORD", str(record))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def launched() -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(record.glob("[0-9]*.json"))]

    yield launched
    for rec in launched():  # nothing may outlive a test
        for pid in (rec["pid"], rec["child"]):
            assert not _alive(pid), f"process {pid} of {rec['model']} is still running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) holds no resources
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _hf(name: str) -> ModelSpec:
    return ModelSpec(label=name, kind="hf", target=name)


def test_gpu_split_and_round_robin_plan(monkeypatch):
    assert gpu_groups([str(i) for i in range(8)], 2) == [["0", "1"], ["2", "3"], ["4", "5"], ["6", "7"]]
    assert gpu_groups([str(i) for i in range(8)], 3) == [["0", "1", "2"], ["3", "4", "5"]]
    with pytest.raises(RGVError, match="tensor-parallel"):
        gpu_groups(["0"], 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")  # what Slurm hands a job
    assert visible_gpus(2) == ["4", "5"] and visible_gpus(None) == ["4", "5", "6", "7"]
    with pytest.raises(RGVError, match="only 4 GPU"):
        visible_gpus(8)

    models, tasks = [_hf("a"), _hf("b"), _hf("c")], ["t1", "t2", "t3", "t4"]
    # more GPU groups than models: replicas, each model's tasks dealt round-robin across them
    jobs = plan_jobs(models, tasks, 8)
    assert [len([j for j in jobs if j.model.label == m]) for m in "abc"] == [3, 3, 2]
    assert [j.tasks for j in jobs if j.model.label == "a"] == [["t1", "t4"], ["t2"], ["t3"]]
    assert [j.model.label for j in jobs[:3]] == ["a", "b", "c"]  # every model in the first wave
    # fewer groups than models: one server per model, all its tasks, queued
    assert [(j.model.label, j.tasks) for j in plan_jobs(models, tasks, 2)] == [(m, tasks) for m in "abc"]
    for n_groups in (1, 2, 3, 5, 8, 13):
        pairs = sorted((j.model.label, t) for j in plan_jobs(models, tasks, n_groups) for t in j.tasks)
        assert pairs == sorted((m, t) for m in "abc" for t in tasks)  # every pair exactly once


def test_bench_on_fake_vllm_servers(tmp_path, fake_vllm, monkeypatch):
    tasks, n = ["leg_counting", "chain_sum"], 3
    refs_file = tmp_path / "refs.json"
    refs_file.write_text(json.dumps(references(tasks, n)))
    monkeypatch.setenv("FAKE_VLLM_REFS", str(refs_file))
    monkeypatch.setenv("FAKE_VLLM_STARTUP_S", "0.6")  # /health fails until then
    adapter = tmp_path / "runs" / "lora-7"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base", "r": 64}))
    models = ["org/model-a", "org/model-b", "org/model-c", str(adapter)]
    spec = build_spec(dict(models=models, tasks=tasks, n=n, gpus=4, tensor_parallel=2, output_dir=tmp_path / "out",
                           server_timeout=60.0, plot=False))
    outcome = run_bench(spec)
    assert not outcome.failures and not outcome.interrupted
    for m in models:
        for t in tasks:
            r = outcome.table.get(t, m)
            assert r is not None and r.accuracy == 1.0 and r.n_rollouts == n, (m, t)

    launched = fake_vllm()
    assert sorted(rec["model"] for rec in launched) == ["org/base", "org/model-a", "org/model-b", "org/model-c"]
    assert {rec["cuda"] for rec in launched} == {"0,1", "2,3"}  # two servers of tp 2 on 4 GPUs
    for rec in launched:
        argv = rec["argv"]
        assert argv[argv.index("--tensor-parallel-size") + 1] == "2"
        if rec["model"] == "org/base":
            assert "--enable-lora" in argv and argv[argv.index("--lora-modules") + 1].endswith("=" + str(adapter))
            assert argv[argv.index("--max-lora-rank") + 1] == "64"
            lora_name = argv[argv.index("--lora-modules") + 1].split("=")[0]
            asked = (tmp_path / "record" / f"requests_{rec['pid']}.txt").read_text().split()
            assert set(asked) == {lora_name} and len(asked) == n * len(tasks)
    assert len(list((tmp_path / "out" / "logs").glob("vllm_*.log"))) == 4


def test_server_that_dies_or_hangs_is_reported_and_killed(tmp_path, fake_vllm):
    dies = LocalServer(_hf("org/dies"), ["0"], tmp_path / "logs")
    dies.start()
    with pytest.raises(ServerError, match=r"exited with code 3: fake vllm: CUDA out of memory \(log: .*vllm_org_dies"):
        asyncio.run(dies.wait_ready(30))
    dies.stop()

    hangs = LocalServer(_hf("org/hangs"), ["1"], tmp_path / "logs")
    hangs.start()
    t0 = time.monotonic()
    with pytest.raises(ServerError, match="did not answer /health within 1 s"):
        asyncio.run(hangs.wait_ready(1.0))
    assert time.monotonic() - t0 < 15 and hangs.proc.poll() is not None


def test_run_jobs_failed_start_costs_only_its_model_and_cancel_stops_all(tmp_path, fake_vllm):
    served = []

    async def run_job(job, server):
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as r:
            served.append((job.model.label, json.loads(r.read())["data"][0]["id"]))

    jobs = [Job(_hf("org/dies"), ["t"]), Job(_hf("org/ok"), ["t"])]
    failures = asyncio.run(run_jobs(jobs, [["0"]], tmp_path / "logs", 1, 30.0, run_job))
    assert served == [("org/ok", "org/ok")] and len(failures) == 1 and "org/dies" in failures[0]

    async def cancelled_mid_job():
        async def forever(job, server):
            await asyncio.sleep(600)

        task = asyncio.ensure_future(run_jobs([Job(_hf("org/a"), ["t"]), Job(_hf("org/b"), ["t"])], [["0"], ["1"]],
                                              tmp_path / "logs", 1, 30.0, forever))
        while len(fake_vllm()) < 4:  # both servers of this run launched
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_mid_job())  # the fixture checks that every server and child is gone


# --- (5) bad input: one clear line -----------------------------------------------------------


@pytest.mark.parametrize("args,expected", [
    (["--models", "gold=http://127.0.0.1:9/v1", "--tasks", "leg_countin"], "did you mean 'leg_counting'"),
    (["--models", "gold=notaurl", "--tasks", "leg_counting"], "expected NAME=URL"),
    (["--models", "Qwen/Qwen2.5-0.5B-Instruct", "--tasks", "leg_counting"], "needs vLLM on a GPU"),
    (["--models", "gold=http://127.0.0.1:9/v1", "--tasks", "leg_counting", "-n", "2"], "cannot reach http://127.0.0.1:9/v1"),
    (["--models", "./no/such/ckpt", "--tasks", "leg_counting"], "no such model folder"),
    (["--models", "embedded", "--tasks", "leg_counting", "leg_counting"], "repeated: leg_counting"),
    (["--tasks", "leg_counting"], "no models"),
    (["--config", "missing.yaml"], "config file not found"),
])
def test_bad_input_is_one_clear_line(tmp_path, args, expected):
    env = {k: v for k, v in os.environ.items() if k != VLLM_CMD_ENV}
    out = rgv("bench", *args, "-o", str(tmp_path / "out"), cwd=tmp_path, env=env)
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], out.stderr
    if "GPU" in expected:
        assert "Qwen/Qwen2.5-0.5B-Instruct=http://HOST:PORT/v1" in lines[0] and "rgv slurm bench" in lines[0]


def test_yaml_config_and_cli_overrides(tmp_path):
    cfg = tmp_path / "bench.yaml"
    cfg.write_text(textwrap.dedent("""
        models:
          - {name: gold, url: "http://127.0.0.1:8000/v1"}
          - embedded
        tasks:
          - leg_counting
          - {name: gcd, difficulty: 1}
          - {name: chain-sum, config: {min_terms: 2, max_terms: 3}}
        n: 20
        rollouts: 4
        max-concurrent: 7
    """))
    spec = build_spec({"n": 5, "models": None}, cfg)
    assert [m.label for m in spec.models] == ["gold", "embedded"] and spec.models[0].base_url == "http://127.0.0.1:8000/v1"
    assert [(t.name, t.difficulty, t.config) for t in spec.tasks] == [
        ("leg_counting", None, None), ("gcd", 1, None), ("chain_sum", None, {"min_terms": 2, "max_terms": 3})]
    assert spec.n == 5 and spec.rollouts == 4 and spec.max_concurrent == 7
    assert spec.sampling_temperature == 1.0  # several rollouts sample
    assert build_spec({"models": ["a=http://h:1/v1,b=http://h:2/v1"], "tasks": ["gcd"]}).sampling_temperature == 0.0
    cfg.write_text("models: [embedded]\ntasks: [gcd]\nmax_concurent: 3\n")
    with pytest.raises(RGVError, match="did you mean 'max_concurrent'"):
        build_spec({}, cfg)


def test_model_kinds(tmp_path):
    assert parse_model("embedded").kind == "embedded"
    ep = parse_model("Qwen/Qwen2.5-7B-Instruct=http://node1:8000/v1/")
    assert (ep.kind, ep.label, ep.request_name, ep.base_url) == ("endpoint", "Qwen/Qwen2.5-7B-Instruct",
                                                                  "Qwen/Qwen2.5-7B-Instruct", "http://node1:8000/v1")
    assert parse_model("Qwen/Qwen2.5-7B-Instruct").kind == "hf"
    ckpt = tmp_path / "exp" / "checkpoint-10"
    ckpt.mkdir(parents=True)
    with pytest.raises(RGVError, match="not a model checkpoint"):
        parse_model(str(ckpt))
    (ckpt / "config.json").write_text("{}")
    assert parse_model(str(ckpt)).kind == "hf"
    (ckpt / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "Qwen/Qwen2.5-0.5B"}))
    lora = parse_model(str(ckpt))
    assert (lora.kind, lora.target, lora.request_name) == ("lora", "Qwen/Qwen2.5-0.5B", "exp-checkpoint-10")


# --- endpoint retries ------------------------------------------------------------------------


class Flaky:
    """An endpoint whose POSTs answer with the scripted statuses, then 200 (gold for `refs`)."""

    def __init__(self, statuses, refs=None, forever=None):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.statuses, self.refs, self.forever, self.calls = list(statuses), refs or {}, forever, 0
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("retry-after-ms", "5")  # keep the client's own backoff short
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"data": [{"id": "gold"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                flaky.calls += 1
                code = flaky.statuses.pop(0) if flaky.statuses else (flaky.forever or 200)
                if code != 200:
                    return self._send(code, {"error": {"message": f"status {code}", "type": "x"}})
                q = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                     "role": "assistant", "content": f"<answer>{flaky.refs.get(q, '')}</answer>"}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_endpoint_retries_refusals_and_giving_up():
    from rg_verifiers.bench.endpoint import Endpoint, EndpointGaveUp

    msgs = [{"role": "user", "content": "q"}]

    async def ask(server, **kw):
        ep = Endpoint(server.base_url, "gold", 4, timeout_s=10, retries=kw.pop("retries", 3), backoff_s=0.01)
        try:
            return await ep.chat(msgs, {"max_tokens": 8})
        finally:
            await ep.close()

    with Flaky([503, 429, 500, 502, 503]) as s:  # more failures than the client's own 2 retries
        reply = asyncio.run(ask(s))
        assert reply.status == "ok" and reply.text == "<answer></answer>" and reply.completion_tokens == 2 and s.calls == 6
    with Flaky([400]) as s:  # e.g. prompt longer than the context: a failed rollout, not a retry
        reply = asyncio.run(ask(s))
        assert reply.status == "request_error" and "status 400" in reply.error and s.calls == 1
    with Flaky([404]) as s:
        with pytest.raises(RGVError, match="HTTP 404"):
            asyncio.run(ask(s))
    with Flaky([], forever=503) as s:
        with pytest.raises(EndpointGaveUp):
            asyncio.run(ask(s, retries=1))
        assert s.calls == 2 * 3  # (1 + our 1 retry) x (1 + client's 2)


def test_dead_endpoint_stops_the_model_and_resume_finishes(tmp_path, refs, monkeypatch):
    from rg_verifiers.bench import endpoint
    from rg_verifiers.bench.runner import report_outcome
    from rich.console import Console

    monkeypatch.setattr(endpoint, "BACKOFF_S", 0.01)
    monkeypatch.setattr(endpoint, "RETRIES", 1)
    opts = dict(tasks=["leg_counting"], n=10, max_concurrent=2, output_dir=tmp_path / "out", plot=False)
    with Flaky([], forever=503) as dead:
        outcome = run_bench(build_spec(dict(opts, models=[f"gold={dead.base_url}"])))
        assert dead.calls < 10 * 2 * 3  # it stopped asking well before every rollout gave up
    assert any("stopped answering" in f for f in outcome.failures) and outcome.saved == 0
    assert report_outcome(outcome, Console(file=open(os.devnull, "w")), Console(file=open(os.devnull, "w"))) == 1
    with Flaky([503, 503, 503], refs=refs) as flaky:  # back, and still a little flaky
        outcome = run_bench(build_spec(dict(opts, models=[f"gold={flaky.base_url}"], resume=True)))
    assert not outcome.failures and outcome.saved == 10
    assert outcome.table.get("leg_counting", "gold").accuracy == 1.0


def test_model_whose_server_dies_is_reported_and_others_finish(tmp_path, fake_vllm, monkeypatch):
    refs_file = tmp_path / "refs.json"
    refs_file.write_text(json.dumps(references(["leg_counting"], 2)))
    monkeypatch.setenv("FAKE_VLLM_REFS", str(refs_file))
    spec = build_spec(dict(models=["org/dies", "org/ok"], tasks=["leg_counting"], n=2, gpus=1,
                           output_dir=tmp_path / "out", server_timeout=30.0, plot=False))
    outcome = run_bench(spec)
    assert len(outcome.failures) == 1 and "org/dies" in outcome.failures[0] and "exited with code 3" in outcome.failures[0]
    assert outcome.table.get("leg_counting", "org/ok").accuracy == 1.0
    assert outcome.table.get("leg_counting", "org/dies") is None
    assert len(outcome.task_files) == 1 and outcome.all_file is not None


def test_plot_command_errors_are_one_line(tmp_path):
    out = rgv("plot", str(tmp_path / "nothing.json"))
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "no such file or folder" in out.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    out = rgv("plot", str(empty), "-o", str(tmp_path / "x.gif"))
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "unsupported output format" in out.stderr


def test_resume_refuses_a_checkpoint_retrained_at_the_same_path(tmp_path, fake_vllm, monkeypatch):
    """`rgv bench --resume` keys a local model's rollouts on a digest of its files, not on its path."""
    refs_file = tmp_path / "refs.json"
    refs_file.write_text(json.dumps(references(["leg_counting"], 2)))
    monkeypatch.setenv("FAKE_VLLM_REFS", str(refs_file))
    ckpt = tmp_path / "runs" / "checkpoint-50"
    ckpt.mkdir(parents=True)
    (ckpt / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    weights = ckpt / "model.safetensors"
    weights.write_bytes(os.urandom(6_000_000))
    opts = dict(models=[str(ckpt)], tasks=["leg_counting"], n=2, gpus=1, output_dir=tmp_path / "out", plot=False,
                server_timeout=30.0)
    first = run_bench(build_spec(opts))
    assert not first.failures and first.saved == 2
    saved = json.loads(next((tmp_path / "out" / "rollouts").glob("*.provenance.json")).read_text())["provenance"]
    assert saved["weights"] is not None and len(saved["weights"]) == 16
    # the same weights (optimizer state added by a resumed training does not count): nothing is asked again
    (ckpt / "optimizer.pt").write_bytes(b"state")
    assert len(fake_vllm()) == 1
    again = run_bench(build_spec(dict(opts, resume=True)))
    assert not again.failures and len(fake_vllm()) == 1  # every rollout was there: no server started
    # retrained in place: same names, same sizes, other bytes
    weights.write_bytes(os.urandom(6_000_000))
    with pytest.raises(RGVError, match=r"came from other weights at .*checkpoint-50 \(digest [0-9a-f]{16}, now "
                                       r"[0-9a-f]{16}: retrained or replaced since that run\); use another --output-dir"):
        run_bench(build_spec(dict(opts, resume=True)))


def test_weights_digest_sees_content_not_times(tmp_path):
    import shutil

    from rg_verifiers.weights_digest import SAMPLE_BYTES, weights_digest

    src = tmp_path / "a"
    src.mkdir()
    (src / "config.json").write_text('{"hidden_size": 8}')
    big = bytearray(os.urandom(9_000_000))
    (src / "model.safetensors").write_bytes(big)
    digest = weights_digest(str(src))
    shutil.copytree(src, tmp_path / "copy")  # new mtimes, same bytes
    assert weights_digest(str(tmp_path / "copy")) == digest
    big[SAMPLE_BYTES // 2] ^= 0xFF  # inside the first sample
    (src / "model.safetensors").write_bytes(big)
    assert weights_digest(str(src)) != digest
    (tmp_path / "copy" / "config.json").write_text('{"hidden_size": 9}')  # small files count whole
    assert weights_digest(str(tmp_path / "copy")) != digest
    assert weights_digest(str(src / "model.safetensors")) not in (None, digest)  # a single file (GGUF)
    assert weights_digest("Qwen/Qwen2.5-7B-Instruct") is None and weights_digest(None) is None
