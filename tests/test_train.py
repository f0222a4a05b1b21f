"""GRPO training: real optimizer steps of the embedded model on CPU, resume, LoRA, errors, launch commands."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CPU_CONFIG = "configs/experiments/leg_counting_embedded_cpu.yaml"
TINY = ["data.num_train_examples=16", "data.num_eval_examples=4", "training.max_completion_length=16",
        "training.per_device_train_batch_size=4", "training.num_generations=4", "training.save_steps=1",
        "training.eval_steps=2", "rewards=[correctness,brevity]"]  # brevity varies in every group: a real gradient


def train_minimal(*args, timeout=900):
    return subprocess.run([sys.executable, "train_minimal.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})


def safetensors(path):
    from safetensors.torch import load_file

    return load_file(str(path))


@pytest.mark.slow
def test_cpu_training_steps_change_weights_and_write_results(tmp_path):
    from rg_verifiers.embedded import hf_model_dir

    out = tmp_path / "run"
    done = train_minimal(CPU_CONFIG, *TINY, "training.max_steps=2", f"training.output_dir={out}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "backend: trl" in done.stderr
    evals = {p.name for p in (out / "eval_results").glob("*.json")}
    assert {"eval_step_0.json", "eval_step_2.json"} <= evals
    step0 = json.loads((out / "eval_results" / "eval_step_0.json").read_text())
    assert step0["n"] == 4 and "leg_counting" in step0["per_task"] and 0 <= step0["parse_failure_rate"] <= 1
    result = json.loads((out / "train_results.json").read_text())
    assert result["global_step"] == 2 and result["backend"] == "trl"
    # model.reasoning_vocab_size=0, the default, is the baseline: no rows added, no expanded copy written
    assert result["reasoning_vocab_size"] == 0 and result["embedding_rows"] == 49152
    assert not (out / "reasoning_vocab").exists()
    assert "rgv_reasoning_vocab" not in json.loads((out / "final" / "config.json").read_text())
    logs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    step_logs = [entry for entry in logs if "reward" in entry]
    assert [entry["step"] for entry in step_logs] == [1, 2]
    for key in ("reward", "reward_std", "frac_reward_zero_std", "parse_failure", "task_reward/leg_counting",
                "completions/mean_length", "peak_memory_mb", "rewards/correctness/mean"):
        assert key in step_logs[0], key
    assert (out / "config.yaml").is_file() and (out / "checkpoint-2").is_dir()
    before, after = safetensors(hf_model_dir() / "model.safetensors"), safetensors(out / "final" / "model.safetensors")
    changed = [k for k in before if not before[k].equal(after[k])]
    assert changed, "no weight changed after two optimizer steps"

    # resume from the latest checkpoint: continues at step 2, not from scratch
    again = train_minimal(CPU_CONFIG, *TINY, "training.max_steps=3", "training.resume_from_checkpoint=latest",
                          f"training.output_dir={out}")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((out / "train_results.json").read_text())["global_step"] == 3
    new_logs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()][len(logs):]
    assert [entry["step"] for entry in new_logs if "reward" in entry] == [3]
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3


@pytest.mark.slow
def test_lora_training_saves_an_adapter(tmp_path):
    """LoRA with a reasoning vocabulary (its rows train through peft's trainable tokens) and TensorBoard,
    which gets the fixed evaluations as well as the training metrics."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "lora"
    done = train_minimal(CPU_CONFIG, *TINY, "training.max_steps=1", "training.eval_steps=null", "data.num_eval_examples=2",
                         "model.lora.enabled=true", "model.lora.r=4", "model.reasoning_vocab_size=16",
                         "logging.report_to=tensorboard", f"training.output_dir={out}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "final" / "adapter_model.safetensors").is_file()
    assert {p.name for p in (out / "eval_results").glob("*.json")} == {"eval_step_0.json", "eval_step_1.json"}
    adapter = safetensors(out / "final" / "adapter_model.safetensors")
    deltas = [k for k in adapter if "trainable_tokens_delta" in k]
    assert deltas and all(adapter[k].shape[0] == 16 for k in deltas), list(adapter)
    events = [EventAccumulator(str(d)).Reload() for d in {p.parent for p in out.rglob("events.out.tfevents.*")}]
    tags = {t for e in events for t in e.Tags()["scalars"]}
    assert {"eval/accuracy", "eval/parse_failure_rate", "eval/leg_counting/accuracy"} <= tags, tags
    steps = sorted(ev.step for e in events if "eval/accuracy" in e.Tags()["scalars"] for ev in e.Scalars("eval/accuracy"))
    assert steps == [0, 1]


@pytest.mark.parametrize("overrides,expected", [
    (["model.name_or_path=./no/such/model"], "does not exist"),
    (["rewards=[corectness]"], "did you mean 'correctness'"),
    (["training.bf16=true"], "needs a GPU"),
    (["model.load_in_4bit=true", "model.lora.enabled=true", "training.backend=trl"], "model.load_in_4bit needs a CUDA GPU"),
    (["training.backend=verifiers"], "training.backend=verifiers needs vLLM"),
    (["tasks=[{name: leg_countin}]"], "did you mean 'leg_counting'"),
    (["training.learnin_rate=1"], "learning_rate"),
])
def test_bad_input_is_one_clear_line(tmp_path, overrides, expected):
    done = train_minimal(CPU_CONFIG, *overrides, f"training.output_dir={tmp_path}", timeout=300)
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if ln.strip() and not ln.startswith(("backend:", "20"))]
    assert len(lines) == 1 and expected in lines[0], done.stderr[-2000:]


def test_missing_config_file_is_one_line():
    done = train_minimal("configs/experiments/nope.yaml", timeout=120)
    assert done.returncode == 2 and "nope.yaml" in done.stderr and "Traceback" not in done.stderr


def test_docs_launch_commands_are_the_printed_ones():
    printed = train_minimal("configs/experiments/leg_counting_qwen1.5b.yaml", "--print-launch", "--gpus", "4",
                            "--inference-gpus", "2", timeout=120)
    assert printed.returncode == 0, printed.stderr
    commands = printed.stdout.strip().splitlines()
    assert commands[0].startswith("CUDA_VISIBLE_DEVICES=0,1 vf-vllm --model Qwen/Qwen2.5-1.5B-Instruct "
                                  "--served-model-name Qwen/Qwen2.5-1.5B-Instruct")
    assert "--disable-log-requests" not in commands[0]  # deprecated in vLLM 0.10.2
    assert commands[1].startswith("CUDA_VISIBLE_DEVICES=2,3 accelerate launch --config-file configs/accelerate/zero3.yaml --num-processes 2")
    shown = (ROOT / "docs" / "training.md").read_text()  # the page that shows them (README.md links it)
    for command in commands:
        assert command in shown, command


def test_prompts_over_max_prompt_length_are_dropped_not_truncated():
    from datasets import Dataset
    from transformers import AutoTokenizer

    from rg_verifiers.embedded import hf_model_dir
    from rg_verifiers.errors import RGVError
    from rg_verifiers.train.policy import drop_long_prompts

    tok = AutoTokenizer.from_pretrained(hf_model_dir())
    rows = Dataset.from_list([{"prompt": [{"role": "user", "content": "short"}]},
                              {"prompt": [{"role": "user", "content": "long " * 400}]}])
    kept = drop_long_prompts(rows, tok, 128)
    assert [r["prompt"][0]["content"] for r in kept] == ["short"]
    with pytest.raises(RGVError, match="every training prompt is longer than training.max_prompt_length=2"):
        drop_long_prompts(rows, tok, 2)


def test_wandb_project_reaches_the_tracker(tmp_path, monkeypatch):
    from rg_verifiers.config import load_config
    from rg_verifiers.train import run

    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    cfg = load_config(ROOT / CPU_CONFIG, ["logging.report_to=wandb", "logging.wandb_project=rgv-demo",
                                          f"training.output_dir={tmp_path}", "training.backend=verifiers"])
    with pytest.raises(Exception, match="needs vLLM"):  # stops at the backend check, after the tracker setup
        run.train(cfg)
    assert __import__("os").environ["WANDB_PROJECT"] == "rgv-demo"
