import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rg_verifiers.errors import RGVError

from rg_verifiers.slurm import (
    SlurmError,
    model_from_config,
    render_bench_script,
    render_train_script,
    validate_memory,
    validate_time,
    write_script,
)

REPO = Path(__file__).resolve().parent.parent

FAKES = {
    "vf-vllm": """#!/bin/bash
echo "vf-vllm $* CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES" >> "$FAKE_DIR/calls.log"
echo $$ > "$FAKE_DIR/server.pid"
if [ -n "${FAKE_VLLM_EXIT:-}" ]; then echo "CUDA out of memory (fake)"; exit "$FAKE_VLLM_EXIT"; fi
exec sleep 1000
""",
    "curl": """#!/bin/bash
n=$(cat "$FAKE_DIR/curl.count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$FAKE_DIR/curl.count"
echo "curl $*" >> "$FAKE_DIR/calls.log"
# like the real endpoint: healthy only once the server process is up
[ "$n" -gt "${FAKE_CURL_FAILS:-2}" ] && [ -f "$FAKE_DIR/server.pid" ]
""",
    "accelerate": """#!/bin/bash
server_alive=no
kill -0 "$(cat "$FAKE_DIR/server.pid")" 2>/dev/null && server_alive=yes
echo "accelerate $* CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES server_alive=$server_alive" >> "$FAKE_DIR/calls.log"
echo $$ > "$FAKE_DIR/trainer.pid"
sleep "${FAKE_ACCEL_SLEEP:-0}"
exit "${FAKE_ACCEL_RC:-0}"
""",
    "rgv": """#!/bin/bash
echo "rgv $*" >> "$FAKE_DIR/calls.log"
""",
}


@pytest.fixture
def work(tmp_path):
    """A work dir with fake executables and a config whose model comes from its _base_."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKES.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "base.yaml").write_text("model:\n  name_or_path: Qwen/Qwen2.5-0.5B-Instruct\n  dtype: bfloat16\n"
                                       "tasks:\n  - name: leg_counting\n")
    (configs / "leg_counting.yaml").write_text("_base_: base.yaml\ntraining:\n  learning_rate: 1.0e-6\n")
    return tmp_path


def run_env(work, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_ID")}
    env.update(PATH=f"{work / 'bin'}:{env['PATH']}", FAKE_DIR=str(work), RGV_HEALTH_POLL_S="0.05")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def train_script(work, **kw):
    kw.setdefault("work_dir", work)
    path = write_script(render_train_script("configs/leg_counting.yaml", "acct", **kw), work / "job.sh")
    subprocess.run(["bash", "-n", str(path)], check=True)
    return path


def run_script(path, work, **env):
    return subprocess.run(["bash", str(path)], cwd=work, env=run_env(work, **env), capture_output=True,
                          text=True, timeout=60)


def calls(work):
    return (work / "calls.log").read_text().splitlines()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def server_pid(work) -> int:
    return int((work / "server.pid").read_text())


# --- rendering and validation ---------------------------------------------------------------


def test_train_header(work):
    text = render_train_script("configs/leg_counting.yaml", "my_acct", work_dir=work, gpus=8, inference_gpus=3,
                               time="1-12:00:00", memory="500g", gpu_type="h100", cpus=32)
    header = [line for line in text.splitlines() if line.startswith("#SBATCH")]
    assert header == [
        "#SBATCH --job-name=leg_counting",
        "#SBATCH --account=my_acct",
        "#SBATCH --partition=GPUQ",
        "#SBATCH --time=1-12:00:00",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --gres=gpu:h100:8",
        "#SBATCH --cpus-per-task=32",
        "#SBATCH --mem=500G",
        "#SBATCH --output=logs/%x-%j.out",
        "#SBATCH --error=logs/%x-%j.err",
    ]
    assert text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    assert "CONFIG=configs/leg_counting.yaml\n" in text
    assert '--num-processes 5 train_minimal.py "$CONFIG"' in text
    assert "--gres=gpu:4" in render_train_script("configs/leg_counting.yaml", "a", work_dir=work, gpu_type="")


def test_train_validation(work):
    def render(**kw):
        return render_train_script("configs/leg_counting.yaml", kw.pop("account", "acct"), work_dir=work, **kw)

    with pytest.raises(SlurmError, match=r"inference_gpus \(4\) must be less than gpus \(4\)"):
        render(gpus=4, inference_gpus=4)
    with pytest.raises(SlurmError, match="inference_gpus must be >= 1"):
        render(inference_gpus=0)
    with pytest.raises(SlurmError, match="HH:MM:SS or D-HH:MM:SS"):
        render(time="4h")
    with pytest.raises(SlurmError, match="memory"):
        render(memory="320GB")
    with pytest.raises(SlurmError, match="nodes must be 1"):
        render(nodes=2)
    with pytest.raises(SlurmError, match="account"):
        render(account="acct; rm -rf /")
    with pytest.raises(SlurmError, match="port"):
        render(port=70000)
    with pytest.raises(SlurmError, match="config file not found: configs/nope.yaml"):
        render_train_script("configs/nope.yaml", "acct", work_dir=work)


@pytest.mark.parametrize("good", ["04:00:00", "48:00:00", "0-01:30:00", "2-23:59:59", "00:00:01"])
def test_time_ok(good):
    assert validate_time(good) == good


@pytest.mark.parametrize("bad", ["4:00", "04:60:00", "1-24:00:00", "00:00:00", "soon", ""])
def test_time_bad(bad):
    with pytest.raises(SlurmError):
        validate_time(bad)


def test_memory():
    assert validate_memory("320G") == "320G"
    assert validate_memory("64000m") == "64000M"
    assert validate_memory("0") == "0"
    for bad in ("lots", "1.5T", "-4G"):
        with pytest.raises(SlurmError, match="320G"):
            validate_memory(bad)


def test_model_comes_from_the_composed_config(work):
    # composition itself (_base_ order, loops, missing files) is tested in test_config.py
    cfg_dir = work / "configs"
    (cfg_dir / "mid.yaml").write_text("_base_: base.yaml\nmodel:\n  name_or_path: org/mid-model\n")
    (cfg_dir / "top.yaml").write_text("_base_: [mid.yaml]\ntraining:\n  max_steps: 10\n")
    assert model_from_config(cfg_dir / "top.yaml") == "org/mid-model"
    assert model_from_config(cfg_dir / "leg_counting.yaml") == "Qwen/Qwen2.5-0.5B-Instruct"

    text = render_train_script("configs/leg_counting.yaml", "acct", work_dir=work, model="org/override")
    assert "MODEL=org/override" in text

    (cfg_dir / "embedded.yaml").write_text("_base_: base.yaml\nmodel:\n  name_or_path: embedded\n")
    with pytest.raises(SlurmError, match="'embedded' is the built-in CPU test model"):
        render_train_script("configs/embedded.yaml", "acct", work_dir=work)
    (cfg_dir / "badkey.yaml").write_text("_base_: base.yaml\ntraining:\n  lr: 1\n")
    with pytest.raises(RGVError, match="training.lr"):
        render_train_script("configs/badkey.yaml", "acct", work_dir=work)


def test_config_relative_to_cwd_becomes_absolute(work, tmp_path_factory, monkeypatch):
    other = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(work)
    text = render_train_script("configs/leg_counting.yaml", "acct", work_dir=other)
    assert f"CONFIG={work / 'configs' / 'leg_counting.yaml'}" in text


def test_write_script_is_executable(work):
    path = write_script("#!/bin/bash\necho hi\n", work / "sub" / "x.sh")
    assert os.access(path, os.X_OK)


# --- running the train script with fake vf-vllm / curl / accelerate -------------------------


def test_train_script_happy_path(work):
    path = train_script(work)
    proc = run_script(path, work)
    assert proc.returncode == 0, proc.stderr
    log = calls(work)
    names = [line.split()[0] for line in log]
    # the server is backgrounded, so its first log line may land after the first poll
    assert names.count("vf-vllm") == 1 and names.count("accelerate") == 1
    assert names.index("vf-vllm") < names.index("accelerate") and names[-1] == "accelerate"
    assert names.count("curl") >= 3 and names[-2] == "curl"
    server = log[names.index("vf-vllm")]
    assert server == ("vf-vllm --model Qwen/Qwen2.5-0.5B-Instruct --data-parallel-size 2 --port 8000 "
                      "--enforce-eager --disable-log-requests CUDA_VISIBLE_DEVICES=0,1")
    assert all(line == "curl -sf --max-time 10 http://localhost:8000/health" for line in log if line.startswith("curl"))
    assert log[-1] == ("accelerate launch --config-file configs/accelerate/zero3.yaml --num-processes 2 "
                       "train_minimal.py configs/leg_counting.yaml CUDA_VISIBLE_DEVICES=2,3 server_alive=yes")
    assert not alive(server_pid(work))
    assert (work / "logs" / "vf-vllm-local.log").exists()
    assert "stopping vf-vllm" in proc.stdout


def test_train_script_propagates_trainer_failure(work):
    proc = run_script(train_script(work), work, FAKE_ACCEL_RC=3)
    assert proc.returncode == 3
    assert "trainer exited with status 3" in proc.stdout
    assert not alive(server_pid(work))


def test_train_script_health_timeout(work):
    start = time.monotonic()
    proc = run_script(train_script(work, health_timeout=2), work, FAKE_CURL_FAILS=10**6)
    assert proc.returncode == 1
    assert time.monotonic() - start < 30
    assert "did not answer http://localhost:8000/health within 2s" in proc.stderr
    assert not any(line.startswith("accelerate") for line in calls(work))
    assert not alive(server_pid(work))


def test_train_script_server_dies_early(work):
    proc = run_script(train_script(work), work, FAKE_CURL_FAILS=10**6, FAKE_VLLM_EXIT=7)
    assert proc.returncode == 1
    assert "vf-vllm exited before it became healthy" in proc.stderr
    assert "CUDA out of memory (fake)" in proc.stderr  # log tail shown
    assert not any(line.startswith("accelerate") for line in calls(work))


def test_train_script_uses_slurm_granted_gpus(work):
    proc = run_script(train_script(work, gpus=4, inference_gpus=1), work, CUDA_VISIBLE_DEVICES="4,5,6,7")
    assert proc.returncode == 0, proc.stderr
    log = calls(work)
    assert next(x for x in log if x.startswith("vf-vllm")).endswith("--data-parallel-size 1 --port 8000 --enforce-eager --disable-log-requests "
                           "CUDA_VISIBLE_DEVICES=4")
    assert "--num-processes 3" in log[-1] and "CUDA_VISIBLE_DEVICES=5,6,7" in log[-1]

    proc = run_script(train_script(work), work, CUDA_VISIBLE_DEVICES="0")
    assert proc.returncode == 1 and "need 4 GPUs" in proc.stderr


def test_train_script_sigterm_stops_server_and_trainer(work):
    path = train_script(work)
    proc = subprocess.Popen(["bash", str(path)], cwd=work, env=run_env(work, FAKE_ACCEL_SLEEP=60),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (work / "trainer.pid").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "trainer never started"
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143
    assert "SIGTERM" in err
    assert not alive(server_pid(work))
    assert not alive(int((work / "trainer.pid").read_text()))


def test_train_script_activates_existing_venv(work):
    venv = work / "myvenv" / "bin"
    venv.mkdir(parents=True)
    (venv / "activate").write_text('echo "activated $VENV_MARK"\n')
    proc = run_script(train_script(work, venv="myvenv"), work, VENV_MARK="ok")
    assert proc.returncode == 0, proc.stderr
    assert "activated ok" in proc.stdout


# --- bench ----------------------------------------------------------------------------------


def test_bench_script(work):
    text = render_bench_script(["Qwen/Qwen2.5-7B-Instruct", "exp/run/checkpoint-10"], ["leg_counting,basic_arithmetic"],
                               "acct", gpus=8, n=50, rollouts=4, work_dir=work, time="12:00:00")
    assert "#SBATCH --job-name=rgv-bench" in text and "#SBATCH --gres=gpu:a100:8" in text
    path = write_script(text, work / "bench.sh")
    subprocess.run(["bash", "-n", str(path)], check=True)
    proc = run_script(path, work)
    assert proc.returncode == 0, proc.stderr
    assert calls(work) == [
        "rgv bench --models Qwen/Qwen2.5-7B-Instruct,exp/run/checkpoint-10 --tasks leg_counting,basic_arithmetic "
        "-n 50 -r 4 --gpus 8 --output-dir benchmark_results"
    ]
    with pytest.raises(SlurmError, match="at least one model"):
        render_bench_script([], ["t"], "acct")
    with pytest.raises(SlurmError, match="n must be >= 1"):
        render_bench_script(["m"], ["t"], "acct", n=0)


# --- scripts/generate_slurm.py --------------------------------------------------------------


def test_generate_slurm_cli(work):
    script = REPO / "scripts" / "generate_slurm.py"
    proc = subprocess.run([sys.executable, str(script), "configs/leg_counting.yaml", "acct", "--gpus", "8",
                           "--inference-gpus", "2", "--time", "2-00:00:00", "--gpu-type", "h100"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = work / "slurm_leg_counting.sh"
    assert out.exists() and os.access(out, os.X_OK)
    text = out.read_text()
    assert "#SBATCH --gres=gpu:h100:8" in text and "--num-processes 6" in text
    subprocess.run(["bash", "-n", str(out)], check=True)

    proc = subprocess.run([sys.executable, str(script), "configs/leg_counting.yaml", "acct", "--inference-gpus", "4"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: inference_gpus (4) must be less than gpus (4): "
                                   "the trainer needs at least one GPU")
