"""The supervised warm-up stage before GRPO: its data, its evaluations, and both backends after it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_vf_backend import (  # noqa: F401  (fixtures)
    checkpoint_digest, eval_chunks, experiment, initial_digest, run_env, server_factory, step_logs, train,
)

ROOT = Path(__file__).resolve().parent.parent


def test_warmup_rows_are_train_questions_with_tagged_reference_answers():
    import verifiers as vf

    from rg_verifiers import serialization
    from rg_verifiers.protocol import parse_answer
    from rg_verifiers.train.warmup import warmup_rows

    env = vf.load_environment("rg-chain-sum", difficulty=0, num_train_examples=12, num_eval_examples=4)
    rows = warmup_rows(env.get_dataset())
    assert len(rows) == 12
    eval_questions = {r["prompt"][-1]["content"] for r in env.get_eval_dataset()}
    for row, item in zip(rows, env.get_dataset()):
        assert row["prompt"] == item["prompt"] and row["prompt"][-1]["content"] not in eval_questions
        gold = serialization.loads(item["info"]["entry"])["answer"]
        assert row["completion"] == [{"role": "assistant", "content": f"<answer>{gold}</answer>"}]
        assert parse_answer(row["completion"]) == gold
    assert len(warmup_rows(env.get_dataset(), limit=5)) == 5


def test_a_task_without_reference_answers_cannot_warm_up():
    import verifiers as vf

    from rg_verifiers.errors import RGVError
    from rg_verifiers.train.warmup import warmup_rows

    env = vf.load_environment("rg-rush-hour", num_train_examples=3, num_eval_examples=1)
    with pytest.raises(RGVError, match="warmup.enabled=false"):
        warmup_rows(env.get_dataset())


def test_bad_warmup_values_are_named():
    from rg_verifiers.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"warmup\.max_steps must be > 0.*warmup\.lora_r must be > 0"):
        load_config(ROOT / "configs/experiments/ultra_minimal_cpu.yaml", ["warmup.max_steps=0", "warmup.lora_r=0"]).validate()


def test_a_fresh_run_moves_an_earlier_runs_records_aside(tmp_path):
    from rg_verifiers.train.run import archive_previous_run

    assert archive_previous_run(tmp_path) is None
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n')
    (tmp_path / "eval_results").mkdir()
    (tmp_path / "eval_results" / "eval_step_0.json").write_text("{}")
    (tmp_path / "checkpoint-1").mkdir()
    moved = archive_previous_run(tmp_path)
    assert moved.parent == tmp_path / "previous"
    assert (moved / "metrics.jsonl").read_text() == '{"step": 1}\n' and (moved / "eval_results" / "eval_step_0.json").is_file()
    assert not (tmp_path / "metrics.jsonl").exists() and (tmp_path / "checkpoint-1").is_dir()  # checkpoints stay
    (tmp_path / "metrics.jsonl").write_text("{}\n")
    assert archive_previous_run(tmp_path) != moved  # a second earlier run gets its own folder


TINY_TRL = ["tasks=[chain_sum]", "tasks.0.difficulty=0", "data.num_train_examples=16", "data.num_eval_examples=4",
            "warmup.enabled=true", "warmup.max_steps=2", "warmup.per_device_train_batch_size=4",
            "training.max_steps=1", "training.per_device_train_batch_size=4", "training.num_generations=4",
            "training.max_completion_length=12", "training.eval_steps=1", "training.save_steps=1",
            "training.log_completions=true"]


@pytest.mark.slow
def test_trl_backend_warms_up_then_trains_from_the_merged_weights(tmp_path):
    from safetensors.torch import load_file

    from rg_verifiers.embedded import hf_model_dir

    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "train_minimal.py", "configs/experiments/ultra_minimal_cpu.yaml", *TINY_TRL,
                           f"training.output_dir={out}"], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    evals = {p.name: json.loads(p.read_text()) for p in (out / "eval_results").glob("*.json")}
    assert set(evals) == {"eval_step_0.json", "eval_warmup.json", "eval_step_1.json"}
    assert [evals[k]["stage"] for k in ("eval_step_0.json", "eval_warmup.json", "eval_step_1.json")] == \
        ["baseline", "warmup", "grpo"]
    assert all(e["n"] == 4 for e in evals.values())
    logs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    warm = [entry for entry in logs if entry.get("stage") == "warmup" and "warmup/loss" in entry]
    assert [entry["step"] for entry in warm] == [1, 2]
    assert [entry["step"] for entry in logs if "reward" in entry] == [1]
    # the warm-up result is a plain checkpoint (adapters merged) and GRPO started from it
    assert (out / "warmup" / "config.json").is_file() and not (out / "warmup" / "adapter_config.json").exists()
    assert not (out / "warmup_trainer").exists()
    logged = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert len(logged) == 4 and {r["step"] for r in logged} == {1} and {r["task"] for r in logged} == {"chain_sum"}
    assert all(set(r["rewards"]) == {"correctness"} and r["question"] and isinstance(r["completion"], str) for r in logged)
    assert "step 1 · chain_sum · correctness" in done.stderr
    # the main job's checkpoint holds the trained weights (its GRPO adapters), not the optimizer state
    # (training.save_only_model); the adapters name the merged warm-up weights as their base
    assert (out / "checkpoint-1" / "adapter_model.safetensors").is_file()
    assert not (out / "checkpoint-1" / "optimizer.pt").exists()
    adapter = json.loads((out / "final" / "adapter_config.json").read_text())
    assert Path(adapter["base_model_name_or_path"]).resolve() == (out / "warmup").resolve()
    base = load_file(str(hf_model_dir() / "model.safetensors"))
    warmed = load_file(str(out / "warmup" / "model.safetensors"))
    assert set(base) == set(warmed) and any(not base[k].equal(warmed[k]) for k in base)


@pytest.mark.slow
def test_verifiers_backend_batch_0_and_the_warmup_eval_use_the_warmed_weights(tmp_path, run_env, server_factory,
                                                                              hub_cache):
    cfg, overrides = experiment(tmp_path)
    overrides += ["warmup.enabled=true", "warmup.max_steps=2", "warmup.per_device_train_batch_size=4",
                  "training.max_steps=1", "training.async_generation_timeout=60", "training.log_completions=true"]
    server = server_factory(cfg, overrides, run_env)
    done = train(cfg, overrides, run_env)
    assert done.returncode == 0, done.stderr[-4000:]
    out = tmp_path / "run"
    d0, warmed, d1 = initial_digest(hub_cache), checkpoint_digest(out / "warmup"), checkpoint_digest(out / "checkpoint-1")
    assert len({d0, warmed, d1}) == 3
    # baseline through the server as started, then the warmed-up model (pushed first), then step 1
    chunks = eval_chunks(server, 4)
    assert chunks == [{d0}, {warmed}, {d1}], (chunks, d0, warmed, d1)
    names = {p.name for p in (out / "eval_results").glob("*.json")}
    assert names == {"eval_step_0.json", "eval_warmup.json", "eval_step_1.json"}
    # step 1's batch was generated by the warmed-up weights, not by the model the server started with
    rollouts = [r for r in server.get("/standin/log") if r.get("temperature") == 1.0]
    assert rollouts and {r["digest"] for r in rollouts} == {warmed}
    assert [s["step"] for s in step_logs(out)] == [1]
    logged = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    # RLTrainer generates one batch ahead: step 2's batch exists (logged as step 2) though training stopped at 1
    assert len([r for r in logged if r["step"] == 1]) == 4 and {r["step"] for r in logged} <= {1, 2}
    assert all(isinstance(r["completion"], str) and r["question"] for r in logged)
    for r in logged:
        assert set(r["rewards"]) == {"correctness", "distinct_chars"}
        assert r["reward"] == pytest.approx(r["rewards"]["correctness"] + 0.5 * r["rewards"]["distinct_chars"])


def test_fixed_evals_reach_an_active_wandb_run(tmp_path, monkeypatch):
    """Real wandb (offline mode): the baseline, after-warm-up and GRPO evals land in the run."""
    import types

    import wandb

    from rg_verifiers.train.callbacks import FixedEvalCallback
    from rg_verifiers.train.evaluation import write_eval

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    rows = [{"prompt": [{"role": "user", "content": "1 + 1"}],
             "info": {"rg_task": "chain_sum", "config": "{}", "entry": '{"question": "1 + 1", "answer": "2", "metadata": {}}'}}]
    write_eval(tmp_path, {"step": 0, "stage": "baseline", "accuracy": 0.25, "parse_failure_rate": 1.0, "per_task": {}})
    run = wandb.init(project="rgv-test")
    try:
        cb = FixedEvalCallback(rows, lambda _m: (lambda prompts: ["<answer>2</answer>"] * len(prompts)), str(tmp_path),
                               eval_steps=1, after_warmup=True)
        cb.on_train_begin(None, types.SimpleNamespace(global_step=0), None, model=None)
        assert run.summary["eval/accuracy"] == 0.25 and run.summary["eval_warmup/accuracy"] == 1.0
        cb.on_step_end(None, types.SimpleNamespace(global_step=1), None, model=None)
        assert run.summary["eval/accuracy"] == 1.0 and run.summary["eval/chain_sum/accuracy"] == 1.0
        assert run.summary["train/global_step"] == 1
    finally:
        wandb.finish()


def test_logging_section_sets_the_tracker():
    from rg_verifiers.config import load_config
    from rg_verifiers.config.loader import to_grpo_config_kwargs, tracker_env

    cfg = load_config(ROOT / "configs/experiments/ultra_minimal_cpu.yaml",
                      ["logging.report_to=wandb", "logging.project=p", "logging.mode=offline"])
    assert tracker_env(cfg) == {"WANDB_PROJECT": "p", "WANDB_MODE": "offline"}
    assert to_grpo_config_kwargs(cfg)["report_to"] == "wandb"
    off = load_config(ROOT / "configs/experiments/ultra_minimal_cpu.yaml", ["logging.report_to=wandb", "logging.enabled=false"])
    assert tracker_env(off) == {} and to_grpo_config_kwargs(off)["report_to"] == "none"
    old = load_config(ROOT / "configs/experiments/ultra_minimal_cpu.yaml", ["logging.report_to=wandb", "logging.wandb_project=q"])
    assert tracker_env(old)["WANDB_PROJECT"] == "q"


def test_verifiers_backend_waits_for_the_server_once_before_the_warm_up(tmp_path, monkeypatch):
    """With a warm-up, the server is waited for (and its model checked) once, before the warm-up's baseline
    evaluation needs it; GRPO does not wait again. The warm-up is a double (it would train for minutes);
    the GRPO stage is real and stops at loading the double's missing warmed-up folder."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from rg_verifiers.config import load_config
    from rg_verifiers.embedded import hf_model_dir
    from rg_verifiers.train import run

    monkeypatch.syspath_prepend(str(ROOT / "tests" / "doubles"))  # vllm's weight-sync client, as in test_vf_backend
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = {"/health": {}, "/v1/models": {"data": [{"id": str(hf_model_dir())}]}}.get(self.path)
            data = json.dumps(body).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen_at_warmup = []

    def warmup_double(cfg, env, model_path, backend, console):
        seen_at_warmup.append(list(hits))
        return str(tmp_path / "warmed-up-by-the-double")

    monkeypatch.setattr(run, "warmup_stage", warmup_double)
    cfg = load_config(ROOT / "configs/experiments/ultra_minimal_cpu.yaml", [
        "training.backend=verifiers", "vllm.host=127.0.0.1", f"vllm.port={server.server_address[1]}",
        "vllm.server_timeout=2", "data.num_train_examples=8", "data.num_eval_examples=4",
        f"training.output_dir={tmp_path / 'run'}"])
    try:
        with pytest.raises(Exception) as failed:
            run.train(cfg)
    finally:
        server.shutdown()
        server.server_close()
    assert seen_at_warmup == [["/health", "/v1/models"]]
    assert hits == ["/health", "/v1/models"], f"GRPO waited again: {hits} ({failed.value!r})"
    assert "warmed-up-by-the-double" in str(failed.value)
