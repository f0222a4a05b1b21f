"""The verifiers (GPU) training path, run for real on a CPU.

REAL here: verifiers 0.1.9.post3's RLTrainer, RLConfig, Orchestrator and VLLMClient (HTTP + weight
sync protocol), transformers' Trainer, accelerate (1 and 2 processes, gloo), DeepSpeed ZeRO-3 on CPU,
peft, our train_minimal.py / config / rubric / eval callback, and the command line printed for vf-vllm.
TEST DOUBLES (tests/doubles/README.md): the vf-vllm server (tests/doubles/vf_vllm_standin.py:
same endpoints and shapes, transformers generation on CPU) and vLLM's NCCL transport (a TCPStore
broadcast in tests/doubles/vllm). The policy is a 3M-parameter random Llama with SmolLM2's
tokenizer, published as a hub id in a private Hugging Face cache (as `Qwen/...` would be), so the
model-name defect is reproduced exactly: the trainer loads a snapshot folder, vf-vllm serves the id.

Each numbered defect of the issue has a test named after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rg_verifiers.serve import free_port

ROOT = Path(__file__).resolve().parent.parent
DOUBLES = ROOT / "tests" / "doubles"
HUB_ID = "rgv-test/tiny-llama"  # the hub id conftest.hub_cache publishes

pytestmark = pytest.mark.slow


def weights_digest(state: dict, tied: bool = True) -> str:
    """The stand-in's digest (vf_vllm_standin.weights_digest) of a checkpoint's tensors."""
    import torch

    h = hashlib.sha256()
    for name, param in sorted(state.items()):
        if name == "lm_head.weight" and tied:
            continue
        h.update(name.encode())
        h.update(param.detach().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def checkpoint_digest(folder: Path) -> str:
    from safetensors.torch import load_file

    return weights_digest(load_file(str(folder / "model.safetensors")))


@pytest.fixture
def run_env(hub_cache, tmp_path):
    """Environment of every process of a test: offline hub cache, the vllm double, one thread."""
    rewards = tmp_path / "rewards_pkg"
    rewards.mkdir()
    (rewards / "rgv_test_rewards.py").write_text(
        "from rg_verifiers.rewards import register_reward\n\n"
        "@register_reward('distinct_chars')\n"
        "def distinct_chars(completions, infos):\n"
        "    from rg_verifiers.protocol import final_assistant_text\n"
        "    texts = [final_assistant_text(c) for c in completions]\n"
        "    return [len(set(t)) / max(1, len(t)) for t in texts]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_"))}
    env.update(HF_HOME=str(hub_cache), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1",
               DS_ACCELERATOR="cpu", PYTHONPATH=os.pathsep.join([str(DOUBLES), str(rewards), str(ROOT)]),
               RGV_REWARD_MODULES="rgv_test_rewards", TOKENIZERS_PARALLELISM="false", WANDB_MODE="disabled")
    return env


def experiment(tmp_path: Path, **extra) -> tuple[Path, list[str]]:
    """A small verifiers-backend config; every training process gets the same file and overrides."""
    port, group_port = free_port(), free_port()
    cfg = tmp_path / "vf.yaml"
    cfg.write_text(f"""
_base_: {ROOT}/configs/base.yaml
model: {{name_or_path: {HUB_ID}}}
tasks: [{{name: leg_counting, config: {{min_animals: 1, max_animals: 1, min_instances: 1, max_instances: 2}}}}]
data: {{num_train_examples: 16, num_eval_examples: 4}}
rewards: [{{name: correctness, weight: 1.0}}, {{name: distinct_chars, weight: 0.5}}]
training:
  backend: verifiers
  output_dir: {tmp_path / 'run'}
  max_steps: 2
  learning_rate: 1.0e-3
  per_device_train_batch_size: 4
  num_generations: 4
  max_completion_length: 8
  max_prompt_length: 256
  save_steps: 1
  save_total_limit: null
  eval_steps: 1
  bf16: false
  async_generation_timeout: 120
vllm: {{host: 127.0.0.1, port: {port}, group_port: {group_port}, server_timeout: 120}}
""")
    return cfg, [f"{k}={v}" for k, v in extra.items()]


class Server:
    """The stand-in, started with exactly the vf-vllm argv the project prints for this config."""

    def __init__(self, cfg_path: Path, overrides: list[str], env: dict, log: Path, extra_args=()):
        from rg_verifiers.config import load_config
        from rg_verifiers.train.launch import vf_vllm_args

        self.cfg = load_config(cfg_path, overrides)
        argv = vf_vllm_args(self.cfg, 1) + list(extra_args)
        assert argv[0] == "vf-vllm" and "--disable-log-requests" not in argv
        self.url = f"http://127.0.0.1:{self.cfg.vllm.port}"
        self.proc = subprocess.Popen([sys.executable, str(DOUBLES / "vf_vllm_standin.py"), *argv[1:]], env=env,
                                     stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.log = log

    def wait(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2)
                return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError("stand-in did not start: " + self.log.read_text()[-3000:])

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(30)


@pytest.fixture
def server_factory(tmp_path):
    started = []

    def start(cfg_path, overrides, env, extra_args=(), wait=True):
        s = Server(cfg_path, overrides, env, tmp_path / f"server{len(started)}.log", extra_args)
        started.append(s)
        return s.wait() if wait else s

    yield start
    for s in started:
        s.stop()


def train(cfg_path: Path, overrides: list[str], env: dict, launcher=(), timeout=900) -> subprocess.CompletedProcess:
    cmd = [*launcher, str(ROOT / "train_minimal.py"), str(cfg_path), *overrides]
    if not launcher:
        cmd.insert(0, sys.executable)
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return done


def step_logs(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if '"reward"' in line]


def eval_chunks(server: Server, n_eval: int) -> list[set[str]]:
    """Digests of the weights behind each evaluation (greedy requests, n_eval per evaluation, in order)."""
    greedy = [r for r in server.get("/standin/log") if r.get("temperature") == 0.0]
    assert len(greedy) % n_eval == 0, greedy
    return [{r["digest"] for r in greedy[k:k + n_eval]} for k in range(0, len(greedy), n_eval)]


def initial_digest(hub_cache) -> str:
    snapshot = next((hub_cache / "hub").glob("models--*/snapshots/*"))
    return checkpoint_digest(snapshot)


# ------------------------------------------------------------------------------------------------
# one process: the main run, then resume


def test_rltrainer_trains_against_vf_vllm_on_cpu(tmp_path, run_env, server_factory, hub_cache):
    """Defects 1 (model name), 2 (eval_steps), 6 (eval labels), 7 (rewards with weights), 3 (resume)."""
    cfg, overrides = experiment(tmp_path)
    server = server_factory(cfg, overrides, run_env)
    done = train(cfg, overrides, run_env)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "backend: verifiers" in done.stderr
    out = tmp_path / "run"

    # 1. every request asked for the served hub id and was answered (RLTrainer used to send the snapshot path: 404)
    log = server.get("/standin/log")
    assert log and {r["model"] for r in log} == {HUB_ID} and {r["status"] for r in log} == {200}
    rollouts = [r for r in log if r["temperature"] == 1.0]
    assert rollouts and all(r["logprobs"] and r["return_token_ids"] for r in rollouts)
    steps = step_logs(out)
    assert [s["step"] for s in steps] == [1, 2]
    assert all(s["rollout_error_rate"] == 0 for s in steps)
    assert any(abs(s["loss"]) > 0 for s in steps) and all(s["grad_norm"] > 0 for s in steps), steps
    # the same metrics as the TRL backend, whichever backend wrote metrics.jsonl
    for key in ("reward", "reward_std", "frac_reward_zero_std", "parse_failure", "task_reward/leg_counting",
                "completions/mean_length", "peak_memory_mb", "rewards/correctness/mean", "rewards/distinct_chars/mean"):
        assert key in steps[0], key
    # 7. the configured rewards with their weights are what is trained on
    for s in steps:
        assert s["reward"] == pytest.approx(s["rewards/correctness/mean"] + 0.5 * s["rewards/distinct_chars/mean"], abs=1e-5)

    # weights changed on the trainer and arrived at the server
    state = server.get("/standin/state")
    assert state["errors"] == [] and state["updated_params"] > 0 and state["policy_version"] >= 2
    d0, d1, d2 = initial_digest(hub_cache), checkpoint_digest(out / "checkpoint-1"), checkpoint_digest(out / "checkpoint-2")
    assert len({d0, d1, d2}) == 3, "the optimizer steps did not change the weights"
    assert state["digest"] == d2 == checkpoint_digest(out / "final")
    # rollouts of step 2's batch were generated with the step-1 policy (one step off-policy, by design)
    assert {r["digest"] for r in rollouts} >= {d0, d1}

    # 2 + 6. eval_steps works, and eval_step_N evaluated the step-N weights (it used to be N-1)
    assert {p.name for p in (out / "eval_results").glob("*.json")} == {f"eval_step_{n}.json" for n in (0, 1, 2)}
    assert eval_chunks(server, 4) == [{d0}, {d1}, {d2}]
    assert json.loads((out / "train_results.json").read_text())["global_step"] == 2
    assert (out / "config.yaml").is_file()

    # 3. resume continues at the saved step (RLTrainer used to wait for a batch it never asked for)
    again = train(cfg, overrides + ["training.max_steps=3", "training.resume_from_checkpoint=latest",
                                    "training.async_generation_timeout=60"], run_env)
    assert again.returncode == 0, again.stderr[-4000:]
    assert json.loads((out / "train_results.json").read_text())["global_step"] == 3
    assert [s["step"] for s in step_logs(out)] == [1, 2, 3]
    d3 = checkpoint_digest(out / "checkpoint-3")
    new = server.get("/standin/log")[len(log):]
    resumed_rollouts = [r for r in new if r["temperature"] == 1.0]
    # the resumed step's batch was generated after the resumed weights reached the server
    assert resumed_rollouts and resumed_rollouts[0]["digest"] == d2
    assert [c for c in eval_chunks(server, 4)[3:]] == [{d3}]
    assert {p.name for p in (out / "eval_results").glob("*.json")} == {f"eval_step_{n}.json" for n in (0, 1, 2, 3)}


def test_defect1_wrong_served_name_is_one_line_before_training(tmp_path, run_env, server_factory):
    cfg, overrides = experiment(tmp_path)
    server_factory(cfg, overrides + ["vllm.served_model_name=something-else"], run_env)
    done = train(cfg, overrides, run_env, timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "serves ['something-else']" in lines[0] and HUB_ID in lines[0], done.stderr[-3000:]
    assert "Traceback" not in done.stderr


def test_defect1_a_batch_with_nothing_to_train_on_stops_training(tmp_path, run_env, server_factory):
    """The server answers every rollout with an error (here: its context is shorter than the prompt):
    RLTrainer alone would log a zero loss every step."""
    cfg, overrides = experiment(tmp_path)
    server_factory(cfg, overrides, run_env, extra_args=["--max-model-len", "24"])
    done = train(cfg, overrides + ["training.eval_steps=null", "data.num_eval_examples=0"], run_env, timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    error = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(error) == 1 and "batch 0 has no trainable tokens" in error[0], done.stderr[-3000:]


# ------------------------------------------------------------------------------------------------
# LoRA + tensorboard + dtype/attention


def test_defect4_lora_with_tensorboard_and_defect7_dtype_attention(tmp_path, run_env, server_factory):
    cfg, overrides = experiment(tmp_path, **{"model.lora.enabled": "true", "model.lora.r": 4,
                                             "logging.report_to": "tensorboard", "training.max_steps": 2,
                                             "training.eval_steps": "null", "model.dtype": "bfloat16",
                                             "model.attn_implementation": "eager"})
    server = server_factory(cfg, overrides, run_env)
    done = train(cfg, overrides, run_env)
    assert done.returncode == 0, done.stderr[-4000:]
    out = tmp_path / "run"
    assert (out / "final" / "adapter_model.safetensors").is_file()
    assert list(out.rglob("events.out.tfevents.*")), "tensorboard wrote nothing"
    result = json.loads((out / "train_results.json").read_text())
    assert result["model_dtype"] == "torch.bfloat16" and result["attn_implementation"] == "eager"
    state = server.get("/standin/state")
    # the merged LoRA weights reached the server under the base model's names
    assert state["errors"] == [] and state["updated_params"] > 0 and state["policy_version"] >= 1


# ------------------------------------------------------------------------------------------------
# two processes


@pytest.mark.parametrize("accelerate_config", ["ddp", "zero3"])
def test_two_process_accelerate_launch(tmp_path, run_env, server_factory, hub_cache, accelerate_config):
    """`accelerate launch --num-processes 2` with the project's own accelerate configs, on CPU (gloo):
    plain DDP and DeepSpeed ZeRO-3 (the GatheredParameters weight sync). Only mixed precision is
    overridden: bf16 autocast is a GPU setting."""
    cfg, overrides = experiment(tmp_path, **{"training.per_device_train_batch_size": 2})
    server = server_factory(cfg, overrides, run_env)
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--config-file",
                str(ROOT / "configs" / "accelerate" / f"{accelerate_config}.yaml"), "--mixed_precision", "no",
                "--num-processes", "2", "--main_process_port", str(free_port())]
    done = train(cfg, overrides, run_env, launcher=launcher)
    assert done.returncode == 0, done.stderr[-5000:]
    out = tmp_path / "run"
    steps = step_logs(out)
    assert [s["step"] for s in steps] == [1, 2], "metrics must be written once, by rank 0"
    assert any(abs(s["loss"]) > 0 for s in steps)
    assert eval_chunks(server, 4)[0] == {initial_digest(hub_cache)}
    assert len(eval_chunks(server, 4)) == 3, "each evaluation must run once (rank 0)"
    state = server.get("/standin/state")
    assert state["errors"] == [] and state["policy_version"] >= 2
    assert state["digest"] != initial_digest(hub_cache)


# ------------------------------------------------------------------------------------------------
# waiting for the server (defect 8)


class _LateServer(ThreadingHTTPServer):
    daemon_threads = True


def _serve_after(port: int, delay: float, served: str):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = {"/health": {}, "/v1/models": {"data": [{"id": served}]}}.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *a):
            pass

    def run():
        time.sleep(delay)
        httpd = _LateServer(("127.0.0.1", port), Handler)
        httpd.serve_forever()

    threading.Thread(target=run, daemon=True).start()


def _cfg_for_port(port: int, timeout: float):
    from rg_verifiers.config import load_config

    return load_config(ROOT / "configs" / "experiments" / "leg_counting_qwen1.5b.yaml",
                       [f"vllm.port={port}", f"vllm.server_timeout={timeout}", "vllm.host=127.0.0.1"])


def test_defect8_trainer_waits_for_a_server_that_starts_later():
    from rich.console import Console

    from rg_verifiers.train.vf_backend import wait_for_server

    port = free_port()
    _serve_after(port, 3.0, "Qwen/Qwen2.5-1.5B-Instruct")
    start = time.monotonic()
    wait_for_server(_cfg_for_port(port, 30), Console(stderr=True), poll_s=0.2)
    assert time.monotonic() - start >= 2.5


def test_defect8_no_server_is_one_line_after_the_timeout():
    from rich.console import Console

    from rg_verifiers.errors import RGVError
    from rg_verifiers.train.vf_backend import wait_for_server

    with pytest.raises(RGVError, match=r"no vf-vllm server answered at .* within 1 s .* vf-vllm --model Qwen/Qwen2.5-1.5B-Instruct"):
        wait_for_server(_cfg_for_port(free_port(), 1), Console(stderr=True), poll_s=0.2)


# ------------------------------------------------------------------------------------------------
# reasoning vocabulary (model.reasoning_vocab_size) on the verifiers backend


def test_reasoning_vocabulary_is_served_trained_and_decoded_as_mirrors(tmp_path, run_env, server_factory):
    """The printed launch order: the expanded checkpoint is written, vf-vllm serves it, RLTrainer trains it;
    the server's text drops the reasoning ids (its tokenizer has no string for them), the rollouts the
    rubric scores have them back as their mirrors' text."""
    from transformers import AutoTokenizer

    from rg_verifiers import reasoning_vocab as rv

    size = 8192  # on this random tiny model about 1 sampled token in 7 is a reasoning id
    cfg, overrides = experiment(tmp_path, **{"model.reasoning_vocab_size": size, "training.max_steps": 1,
                                             "training.log_completions": "true"})
    sys.path.insert(0, str(ROOT))
    try:
        from train_minimal import launch_commands
    finally:
        sys.path.remove(str(ROOT))
    prepare = launch_commands(str(cfg), overrides, 2, 1)[0]
    assert prepare.startswith("python -m rg_verifiers.reasoning_vocab ")
    done = subprocess.run([sys.executable, *prepare.split()[1:]], cwd=ROOT, env=run_env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    expanded = tmp_path / "run" / "reasoning_vocab"
    assert done.stdout.strip() == str(expanded)
    server = server_factory(cfg, overrides, run_env)
    done = train(cfg, overrides, run_env)
    assert done.returncode == 0, done.stderr[-4000:]
    out = tmp_path / "run"
    tok = AutoTokenizer.from_pretrained(expanded)
    vocab = rv.ReasoningVocab.of(out / "final")
    assert vocab is not None and vocab.size == size
    assert json.loads((out / "final" / "config.json").read_text())["vocab_size"] == len(tok) + size
    state = server.get("/standin/state")
    assert state["errors"] == [] and state["updated_params"] > 0 and state["policy_version"] >= 1
    log = server.get("/standin/log")
    assert {r["model"] for r in log} == {str(expanded)} and {r["status"] for r in log} == {200}
    rollouts = [r for r in log if r["temperature"] == 1.0]
    with_reasoning = [r for r in rollouts if any(vocab.is_reasoning(t) for t in r["completion_ids"])]
    assert with_reasoning, "no rollout sampled a reasoning id"
    eos = set(tok.all_special_ids)
    restored = {tok.decode([t for t in vocab.to_standard(r["completion_ids"]) if t not in eos], skip_special_tokens=True)
                for r in rollouts}
    assert all(r["text"] not in restored for r in with_reasoning)  # the server's own text lost tokens
    scored = {json.loads(line)["completion"] for line in (out / "completions.jsonl").read_text().splitlines()}
    assert scored <= restored | {r["text"] for r in rollouts if r not in with_reasoning}
    assert scored & {tok.decode([t for t in vocab.to_standard(r["completion_ids"]) if t not in eos],
                                skip_special_tokens=True) for r in with_reasoning}
    sampled = [t for r in rollouts for t in r["completion_ids"]]
    share = sum(vocab.is_reasoning(t) for t in sampled) / len(sampled)
    logged = [s["reasoning_vocab/share"] for s in step_logs(out)]
    assert len(logged) == 1 and 0 < logged[0] <= 1 and abs(logged[0] - share) < 0.2, (logged, share)


# ------------------------------------------------------------------------------------------------
# dynamic sampling (training.dynamic_sampling)

# rollouts of even-indexed items all score 1 (zero spread, dropped); the others score by their own text
EVEN_CONSTANT = (
    "\n@register_reward('even_constant')\n"
    "def even_constant(completions, infos):\n"
    "    import zlib\n"
    "    from rg_verifiers.protocol import final_assistant_text\n"
    "    return [1.0 if i['index'] % 2 == 0 else float(zlib.crc32(final_assistant_text(c).encode()) % 5)\n"
    "            for c, i in zip(completions, infos)]\n")


def test_dynamic_sampling_batch_holds_only_groups_with_spread(tmp_path, run_env, server_factory, hub_cache, monkeypatch,
                                                              request):
    """In process: the Orchestrator RLTrainer builds, generating from the stand-in; the Batch it returns is
    all RLTrainer.training_step turns into the loss (microbatches of ids, masks and advantages)."""
    import asyncio

    from openai import AsyncOpenAI

    cfg_path, overrides = experiment(tmp_path)
    server = server_factory(cfg_path, overrides, run_env)
    for key in ("HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DS_ACCELERATOR"):
        monkeypatch.setenv(key, run_env[key])
    monkeypatch.syspath_prepend(str(DOUBLES))  # RLTrainer's module imports vLLM's client
    before = set(sys.modules)
    request.addfinalizer(lambda: [sys.modules.pop(m) for m in set(sys.modules) - before
                                  if m == "vllm" or m.startswith(("vllm.", "verifiers.rl", "rg_verifiers.train.rl_trainer"))])
    from transformers import AutoTokenizer

    from rg_verifiers.config import load_config
    from rg_verifiers.config.loader import to_rl_config_kwargs
    from rg_verifiers.rewards import register_reward
    from rg_verifiers.rubric import TrainingRubric
    from rg_verifiers.scoring import get_scorer
    from rg_verifiers.train.rl_trainer import RGVOrchestrator, RGVRLConfig
    from rg_verifiers.train.run import build_env

    exec(compile("from rg_verifiers.rewards import register_reward\n" + EVEN_CONSTANT, "even_constant", "exec"), {})
    cfg = load_config(cfg_path, overrides + ["training.dynamic_sampling.enabled=true",
                                             "training.dynamic_sampling.max_extra_rounds=3",
                                             "training.per_device_train_batch_size=8", "data.num_eval_examples=0",
                                             "training.eval_steps=null"])
    env = build_env(cfg)
    env.rubric = TrainingRubric(get_scorer(), [("even_constant", 1.0)], parser=env.parser)
    tokenizer = AutoTokenizer.from_pretrained(next((hub_cache / "hub").glob("models--*/snapshots/*")))
    args = RGVRLConfig(**to_rl_config_kwargs(cfg, 1), use_cpu=True, use_liger=False)
    orch = RGVOrchestrator(
        env=env, client_base_url=f"{server.url}/v1", client_api_key="EMPTY", client_limit=16, client_timeout=120,
        model_name=HUB_ID, sampling_args=dict(args.sampling_args), rollouts_per_example=args.rollouts_per_example,
        batch_size=args.batch_size, micro_batch_size=args.micro_batch_size, num_processes=1, generation_timeout=120,
        processing_class=tokenizer, mask_env_responses=True, max_seq_len=args.max_seq_len,
        max_prompt_len=args.max_prompt_len or args.max_seq_len, mask_truncated_completions=False,
        zero_truncated_completions=False, max_concurrent=16, reward_names=("even_constant",),
        dynamic_sampling=cfg.training.dynamic_sampling, seed=0)

    async def generate(batch_id):
        orch.client = AsyncOpenAI(base_url=f"{server.url}/v1", api_key="EMPTY")
        try:
            return await orch.generate_batch(batch_id)
        finally:
            await orch.client.close()

    for batch_id in (0, 1):
        batch = asyncio.run(generate(batch_id))
        m = batch.metrics_dict
        # every round's rollouts, by their full token sequence: which group each came from, and its rewards
        rewards_of: dict = {}
        group_rewards: dict = {}
        for s in orch.env.all_states:
            group_rewards.setdefault(s["example_id"], []).append(s["reward"])
        for s in orch.env.all_states:
            tokens = s["trajectory"][-1]["tokens"]
            rewards_of[tuple(tokens["prompt_ids"] + tokens["completion_ids"])] = group_rewards[s["example_id"]]
        rows = [tuple(ids) for mb in batch.microbatches[0] for ids in mb.input_ids]
        assert rows, m
        for row in rows:
            group = rewards_of[row]
            assert max(group) > min(group), f"a zero-spread group reached the loss: {group}"
        dropped = sum(1 for g in group_rewards.values() if max(g) == min(g))
        assert dropped > 0, group_rewards  # half the items are even: something was dropped
        assert m["dynamic_sampling/generation_rounds"] >= 2
        assert m["dynamic_sampling/filtered_share"] == pytest.approx(dropped / len(group_rewards))
        assert m["dynamic_sampling/rollouts_per_trained"] >= 1.0
        assert len(rows) == 4 * (2 - m["dynamic_sampling/shortfall_groups"])
        assert m["frac_reward_zero_std"] == 0.0  # the metric over what is trained


def test_dynamic_sampling_end_to_end_logs_its_metrics(tmp_path, run_env, server_factory):
    with open(Path(run_env["PYTHONPATH"].split(os.pathsep)[1]) / "rgv_test_rewards.py", "a") as f:
        f.write(EVEN_CONSTANT)
    cfg, overrides = experiment(tmp_path)
    overrides += ["training.dynamic_sampling.enabled=true", "rewards=[{name: even_constant, weight: 1.0}]",
                  "training.eval_steps=null", "data.num_eval_examples=0", "training.save_steps=10"]
    server_factory(cfg, overrides, run_env)
    done = train(cfg, overrides, run_env, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    logs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [entry for entry in logs if "dynamic_sampling/filtered_share" in entry]
    assert [s["step"] for s in steps] == [1, 2]
    for s in steps:
        for key in ("dynamic_sampling/generation_rounds", "dynamic_sampling/rollouts_per_trained",
                    "dynamic_sampling/shortfall_groups"):
            assert key in s, key
        assert s["frac_reward_zero_std"] == 0.0
