"""`rgv` as a user runs it: one-line errors, listings, and the embedded model end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

RGV = str(Path(sys.executable).parent / "rgv")


def rgv(*args, cwd=None, timeout=600):
    return subprocess.run([RGV, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("args,expected", [
    (["show", "leg_countin"], "did you mean 'leg_counting'"),
    (["show", "leg_counting", "--config", '{"max_animal": 3}'], "did you mean 'max_animals'"),
    (["show", "leg_counting", "--config", "{oops"], "--config must be a JSON object"),
    (["show", "leg_counting", "--difficulty", "99"], "must be an integer in 0..35"),
    (["eval", "rg-leg-countin"], "did you mean 'leg_counting'"),
    (["eval", "rg-leg-counting", "-m", "Qwen/Qwen2.5-7B-Instruct"], "needs an endpoint"),
    (["tasks", "--category", "arithmatic"], "did you mean 'arithmetic'"),
    (["report", "no/such/dir"], "no such file or folder"),
])
def test_bad_input_is_one_clear_line(args, expected):
    out = rgv(*args)
    assert out.returncode != 0
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_tasks_lists_all_with_sandbox_and_levels():
    rows = json.loads(rgv("tasks", "--json").stdout)
    assert len(rows) == 105
    by_name = {r["task"]: r for r in rows}
    assert by_name["countdown"]["sandboxed"] and not by_name["leg_counting"]["sandboxed"]
    assert by_name["leg_counting"]["difficulty_levels"] == 36 and by_name["leg_counting"]["env_id"] == "rg-leg-counting"


def test_show_prints_items_and_references():
    out = rgv("show", "graph_color", "-n", "1")
    assert out.returncode == 0 and "reference:" in out.stdout and "None" not in out.stdout.split("reference:")[1][:10]


@pytest.mark.slow
def test_eval_embedded_model_end_to_end(tmp_path):
    """No model argument: the embedded SmolLM2-135M on a real llama.cpp server, started and stopped for us."""
    out = rgv("eval", "rg-leg-counting", "-n", "4", "-t", "48", "-a", '{"num_eval_examples": 4, "num_train_examples": 0}',
              "-o", str(tmp_path / "out"), cwd=tmp_path, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "server ready" in out.stderr and "server stopped" in out.stderr
    assert "leg_counting" in out.stdout and "accuracy" in out.stdout
    results = list((tmp_path / "out" / "evals").glob("rg-leg-counting--embedded/*/results.jsonl"))
    assert len(results) == 1
    rows = [json.loads(line) for line in results[0].read_text().splitlines()]
    assert len(rows) == 4 and all(r["completion"][-1]["content"] for r in rows)
    assert all(0.0 <= r["correct"] <= 1.0 and r["parse_failure"] in (0.0, 1.0) for r in rows)
    meta = json.loads((results[0].parent / "metadata.json").read_text())
    assert meta["model"] == "embedded" and meta["env_id"] == "rg-leg-counting"
    # the server is gone
    assert not subprocess.run(["pgrep", "-f", "llama_cpp.server"], capture_output=True).stdout.strip()


def test_slurm_train_and_bench_scripts(tmp_path, repo_root):
    job = tmp_path / "train.sh"
    out = rgv("slurm", "train", "configs/experiments/leg_counting_qwen1.5b.yaml", "--account", "acct", "--gpus", "4",
              "--inference-gpus", "2", "-o", str(job), cwd=repo_root)
    assert out.returncode == 0, out.stderr
    text = job.read_text()
    assert subprocess.run(["bash", "-n", str(job)]).returncode == 0
    # the server command comes from train/launch.py's vf_vllm_args: data-parallel size fixed when generating
    assert "--data-parallel-size 2 " in text and "accelerate launch --config-file configs/accelerate/zero3.yaml" in text
    bench = tmp_path / "bench.sh"
    out = rgv("slurm", "bench", "--models", "Qwen/Qwen2.5-7B-Instruct", "runs/ckpt", "--tasks", "leg_counting", "gcd",
              "--account", "acct", "-o", str(bench), cwd=repo_root)
    assert out.returncode == 0, out.stderr
    assert "rgv bench --models Qwen/Qwen2.5-7B-Instruct,runs/ckpt --tasks leg_counting,gcd" in bench.read_text()
    bad = rgv("slurm", "train", "configs/experiments/leg_counting_embedded_cpu.yaml", "--account", "a", cwd=repo_root)
    assert bad.returncode != 0 and "embedded" in bad.stderr and "Traceback" not in bad.stderr
