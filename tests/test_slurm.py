import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rg_verifiers.errors import RGVError

from rg_verifiers.slurm import (
    SlurmError,
    bench_array_paths,
    model_from_config,
    render_bench_script,
    render_train_script,
    validate_memory,
    validate_time,
    write_bench_array,
    write_script,
)

REPO = Path(__file__).resolve().parent.parent
RGV = str(Path(sys.executable).parent / "rgv")
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"

FAKES = {
    # binds its --port for real, so a second job on this "node" cannot be handed the same port
    "vf-vllm": f"""#!{sys.executable}
import os, socket, sys, time
args = sys.argv[1:]
env = os.environ
node = f" node={{env['SLURMD_NODENAME']}}" if env.get("SLURMD_NODENAME") else ""
with open(os.path.join(env["FAKE_DIR"], "calls.log"), "a") as f:
    f.write(f"vf-vllm {{' '.join(args)}} CUDA_VISIBLE_DEVICES={{env.get('CUDA_VISIBLE_DEVICES', '')}}{{node}}\\n")
with open(os.path.join(env["FAKE_DIR"], "server.pid"), "w") as f:
    f.write(str(os.getpid()))
with open(os.path.join(env["FAKE_DIR"], "vf-vllm.env"), "w") as f:
    f.write("".join(f"{{k}}={{v}}\\n" for k, v in env.items()))
if env.get("FAKE_VLLM_EXIT"):
    print("CUDA out of memory (fake)", flush=True)
    sys.exit(int(env["FAKE_VLLM_EXIT"]))
sock = socket.socket()
sock.bind((args[args.index("--host") + 1], int(args[args.index("--port") + 1])))
sock.listen()
time.sleep(1000)
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
echo "accelerate $* CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-} server_alive=$server_alive${SLURMD_NODENAME:+ node=$SLURMD_NODENAME}" >> "$FAKE_DIR/calls.log"
echo $$ > "$FAKE_DIR/trainer${SLURMD_NODENAME:+-$SLURMD_NODENAME}.pid"
env > "$FAKE_DIR/accelerate.env"
sleep "${FAKE_ACCEL_SLEEP:-0}"
exit "${FAKE_ACCEL_RC:-0}"
""",
    # one task per node of --nodelist, all on this machine, as a 1-task-per-node step would place them
    "srun": """#!/bin/bash
echo "srun $*" >> "$FAKE_DIR/calls.log"
nodelist=""
while [ $# -gt 0 ]; do
    case "$1" in
        --nodelist=*) nodelist="${1#--nodelist=}" ;;
        -*) ;;
        *) break ;;
    esac
    shift
done
IFS=, read -r -a nodes <<< "$nodelist"
pids=()
for i in "${!nodes[@]}"; do
    SLURM_PROCID=$i SLURM_NODEID=$i SLURMD_NODENAME="${nodes[$i]}" HOSTNAME="${nodes[$i]}" "$@" &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
exit "$rc"
""",
    "scontrol": """#!/bin/bash
echo "scontrol $*" >> "$FAKE_DIR/calls.log"
[ "$1 $2" = "show hostnames" ] && printf '%s\\n' $FAKE_NODES
""",
    "sbatch": """#!/bin/bash
n=$(cat "$FAKE_DIR/sbatch.count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$FAKE_DIR/sbatch.count"
echo "sbatch $*" >> "$FAKE_DIR/calls.log"
echo "$((1000 + n));cluster-a"
""",
    "rgv": """#!/bin/bash
echo "rgv $*" >> "$FAKE_DIR/calls.log"
if [ -n "${REAL_RGV:-}" ]; then exec "$REAL_RGV" "$@"; fi
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
    (configs / "base.yaml").write_text(f"model:\n  name_or_path: {MODEL}\n  dtype: bfloat16\n"
                                       "tasks:\n  - name: leg_counting\n")
    (configs / "leg_counting.yaml").write_text("_base_: base.yaml\ntraining:\n  learning_rate: 1.0e-6\n")
    return tmp_path


def run_env(work, **extra):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES" and not k.startswith("SLURM")}
    env.update(PATH=f"{work / 'bin'}:{env['PATH']}", FAKE_DIR=str(work), RGV_HEALTH_POLL_S="0.05")
    env.update({k: str(v) for k, v in extra.items()})
    return env


# what the batch step of a 3-node job sees on its (first) node
MULTI_NODE_ENV = dict(SLURM_JOB_ID="4242", SLURM_JOB_NODELIST="node-[0-2]", SLURMD_NODENAME="node-0",
                      FAKE_NODES="node-0 node-1 node-2")


def train_script(work, name="job.sh", **kw):
    kw.setdefault("work_dir", work)
    path = write_script(render_train_script("configs/leg_counting.yaml", "acct", **kw), work / name)
    subprocess.run(["bash", "-n", str(path)], check=True)
    return path


def run_script(path, work, **env):
    return subprocess.run(["bash", str(path)], cwd=work, env=run_env(work, **env), capture_output=True,
                          text=True, timeout=60)


def calls(work, prefix=None):
    lines = (work / "calls.log").read_text().splitlines()
    return [line for line in lines if prefix is None or line.startswith(prefix + " ")]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def server_pid(work) -> int:
    return int((work / "server.pid").read_text())


def option(line: str, name: str) -> str:
    words = line.split()
    return words[words.index(name) + 1]


def expected_server(work, inference_gpus, host, port, overrides=()):
    """The vf-vllm command train/launch.py builds for this config: the script must run exactly it."""
    from rg_verifiers.config import load_config
    from rg_verifiers.train.launch import vf_vllm_args

    cfg = load_config(work / "configs" / "leg_counting.yaml", list(overrides))
    return shlex.join(vf_vllm_args(cfg, inference_gpus, host=host, port=port))


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
    assert ('--num-processes 5 train_minimal.py "$CONFIG" "vllm.host=$VLLM_HOST" "vllm.port=$PORT" '
            '"vllm.group_port=$GROUP_PORT" &') in text
    assert "--disable-log-requests" not in text  # deprecated in vLLM 0.10.2
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
    with pytest.raises(SlurmError, match="nodes must be >= 1"):
        render(nodes=0)
    with pytest.raises(SlurmError, match="account"):
        render(account="acct; rm -rf /")
    with pytest.raises(SlurmError, match="port must be between 1 and 65535"):
        render(port=70000)
    with pytest.raises(SlurmError, match="port and group_port must differ"):
        render(port=9000, group_port=9000)
    with pytest.raises(SlurmError, match="config file not found: configs/nope.yaml"):
        render_train_script("configs/nope.yaml", "acct", work_dir=work)
    (work / "configs" / "trl.yaml").write_text("_base_: base.yaml\ntraining:\n  backend: trl\n")
    with pytest.raises(SlurmError, match="training.backend is 'trl'"):
        render_train_script("configs/trl.yaml", "acct", work_dir=work)


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
    assert model_from_config(cfg_dir / "leg_counting.yaml") == MODEL

    text = render_train_script("configs/leg_counting.yaml", "acct", work_dir=work, model="org/override")
    assert "MODEL=org/override" in text

    (cfg_dir / "embedded.yaml").write_text("_base_: base.yaml\nmodel:\n  name_or_path: embedded\n")
    with pytest.raises(SlurmError, match="'embedded' is the built-in CPU test model|built-in CPU test model"):
        render_train_script("configs/embedded.yaml", "acct", work_dir=work)
    with pytest.raises(SlurmError, match="built-in CPU test model"):
        render_train_script("configs/leg_counting.yaml", "acct", work_dir=work, model="embedded")
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


def test_batch_divisibility_is_checked_for_the_real_trainer_count(work):
    # 2 completions per device x 1 micro-step: 8-rollout groups need a multiple of 4 trainer processes
    (work / "configs" / "groups.yaml").write_text(
        "_base_: base.yaml\ntraining:\n  per_device_train_batch_size: 2\n  num_generations: 8\n")

    def render(**kw):
        return render_train_script("configs/groups.yaml", "acct", work_dir=work, **kw)

    with pytest.raises(SlurmError) as err:
        render(gpus=4, inference_gpus=1)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("3 trainer process(es) (4 GPUs, 1 for vf-vllm)")
    assert "x 3 process(es) = 6" in msg and "training.num_generations (8)" in msg
    render(gpus=6, inference_gpus=2)  # 4 trainer processes: 8 rollouts per step

    # several nodes: the world size is every trainer node's GPUs, not one node's
    with pytest.raises(SlurmError, match=r"^6 trainer process\(es\) \(3 node\(s\) x 2 GPUs; node 0 serves vf-vllm\)"):
        render(nodes=4, gpus=2)
    render(nodes=3, gpus=2)  # 2 x 2 = 4


# --- running the train script with fake vf-vllm / curl / accelerate -------------------------


def test_train_script_happy_path(work):
    path = train_script(work, port=8000, group_port=51216)
    proc = run_script(path, work)
    assert proc.returncode == 0, proc.stderr
    log = calls(work)
    names = [line.split()[0] for line in log]
    # the server is backgrounded, so its first log line may land after the first poll
    assert names.count("vf-vllm") == 1 and names.count("accelerate") == 1
    assert names.index("vf-vllm") < names.index("accelerate") and names[-1] == "accelerate"
    assert names.count("curl") >= 3 and names[-2] == "curl"
    server = log[names.index("vf-vllm")]
    # the very command train/launch.py builds, with the script's host and port
    assert server == expected_server(work, 2, "0.0.0.0", 8000) + " CUDA_VISIBLE_DEVICES=0,1"
    assert "--data-parallel-size 2" in server and "--disable-log-requests" not in server
    assert all(line == "curl -sf --max-time 10 http://localhost:8000/health" for line in log if line.startswith("curl"))
    assert log[-1] == ("accelerate launch --config-file configs/accelerate/zero3.yaml --num-processes 2 "
                       "train_minimal.py configs/leg_counting.yaml vllm.host=0.0.0.0 vllm.port=8000 "
                       "vllm.group_port=51216 CUDA_VISIBLE_DEVICES=2,3 server_alive=yes")
    assert not alive(server_pid(work))
    assert (work / "logs" / "vf-vllm-local.log").exists()
    assert "stopping vf-vllm" in proc.stdout


def test_port_and_model_options_reach_the_trainer(work):
    proc = run_script(train_script(work, port=9123, model="org/override"), work)
    assert proc.returncode == 0, proc.stderr
    server, = calls(work, "vf-vllm")
    trainer, = calls(work, "accelerate")
    group_port = int(re.search(r"vllm\.group_port=(\d+)", trainer).group(1))
    # the server is built from the config WITH the model override, so its served name follows too
    assert server == (expected_server(work, 2, "0.0.0.0", 9123, ["model.name_or_path=org/override"])
                      + " CUDA_VISIBLE_DEVICES=0,1")
    assert option(server, "--model") == option(server, "--served-model-name") == "org/override"
    # ... and the trainer, which reads the config, is told the same model and ports
    assert trainer.split(" CUDA_VISIBLE_DEVICES=")[0].endswith(
        f"train_minimal.py configs/leg_counting.yaml vllm.host=0.0.0.0 vllm.port=9123 "
        f"vllm.group_port={group_port} model.name_or_path=org/override")
    assert group_port != 9123 and 0 < group_port < 65536


def test_two_jobs_on_one_node_choose_different_ports(work):
    path = train_script(work)
    runs = []
    for job in ("1", "2"):
        fake_dir = work / f"job{job}"
        fake_dir.mkdir()
        env = run_env(work, FAKE_DIR=fake_dir, SLURM_JOB_ID=job, FAKE_ACCEL_SLEEP=2)
        runs.append(subprocess.Popen(["bash", str(path)], cwd=work, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True))
        # the second job starts while the first one's server holds its port
        deadline = time.monotonic() + 30
        while not (fake_dir / "calls.log").exists() or not calls(fake_dir, "accelerate"):
            assert time.monotonic() < deadline and runs[-1].poll() is None, runs[-1].communicate()[1]
            time.sleep(0.05)
    ports = []
    for job, proc in zip(("1", "2"), runs):
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        server, = calls(work / f"job{job}", "vf-vllm")
        trainer, = calls(work / f"job{job}", "accelerate")
        port = option(server, "--port")
        group = re.search(r"vllm\.group_port=(\d+)", trainer).group(1)
        assert f"vllm.port={port} " in trainer and port != group
        assert all(line.endswith(f"http://localhost:{port}/health") for line in calls(work / f"job{job}", "curl"))
        ports += [port, group]
    assert len(set(ports)) == 4, ports


def test_train_script_propagates_trainer_failure(work):
    proc = run_script(train_script(work), work, FAKE_ACCEL_RC=3)
    assert proc.returncode == 3
    assert "trainer exited with status 3" in proc.stdout
    assert not alive(server_pid(work))


def test_train_script_health_timeout(work):
    start = time.monotonic()
    proc = run_script(train_script(work, health_timeout=2, port=8000), work, FAKE_CURL_FAILS=10**6)
    assert proc.returncode == 1
    assert time.monotonic() - start < 30
    assert "did not answer http://localhost:8000/health within 2s" in proc.stderr
    assert not calls(work, "accelerate")
    assert not alive(server_pid(work))


def test_train_script_server_dies_early(work):
    proc = run_script(train_script(work), work, FAKE_CURL_FAILS=10**6, FAKE_VLLM_EXIT=7)
    assert proc.returncode == 1
    assert "vf-vllm exited before it became healthy" in proc.stderr
    assert "CUDA out of memory (fake)" in proc.stderr  # log tail shown
    assert not calls(work, "accelerate")


def test_train_script_uses_slurm_granted_gpus(work):
    proc = run_script(train_script(work, gpus=4, inference_gpus=1), work, CUDA_VISIBLE_DEVICES="4,5,6,7")
    assert proc.returncode == 0, proc.stderr
    server, = calls(work, "vf-vllm")
    assert "--data-parallel-size 1 " in server and server.endswith("CUDA_VISIBLE_DEVICES=4")
    trainer, = calls(work, "accelerate")
    assert "--num-processes 3" in trainer and "CUDA_VISIBLE_DEVICES=5,6,7" in trainer

    proc = run_script(train_script(work), work, CUDA_VISIBLE_DEVICES="0")
    assert proc.returncode == 1 and "need 4 GPUs" in proc.stderr


def _start_and_sigterm(path, work, pid_files, **env):
    proc = subprocess.Popen(["bash", str(path)], cwd=work, env=run_env(work, FAKE_ACCEL_SLEEP=60, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not all((work / f).exists() for f in pid_files):
            assert time.monotonic() < deadline and proc.poll() is None, "trainer never started"
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def test_train_script_sigterm_stops_server_and_trainer(work):
    rc, err = _start_and_sigterm(train_script(work), work, ["trainer.pid"])
    assert rc == 143
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


# --- several nodes --------------------------------------------------------------------------


def test_multi_node_layout_and_errors(work):
    text = render_train_script("configs/leg_counting.yaml", "acct", work_dir=work, nodes=3, gpus=4)
    assert "#SBATCH --nodes=3\n" in text and "#SBATCH --gres=gpu:a100:4\n" in text
    assert "--num-machines 2" in text and "--num-processes 8 " in text
    with pytest.raises(SlurmError) as err:
        render_train_script("configs/leg_counting.yaml", "acct", work_dir=work, nodes=2, gpus=4, inference_gpus=2)
    assert "\n" not in str(err.value)
    assert "inference_gpus must equal gpus (4), got 2" in str(err.value)
    assert "same number of ranks on every machine" in str(err.value)

    # accelerate's DeepSpeed default multi-node launcher (pdsh) would ssh into the nodes itself
    acc = work / "configs" / "accelerate"
    acc.mkdir()
    (acc / "pdsh.yaml").write_text("distributed_type: DEEPSPEED\ndeepspeed_config:\n  zero_stage: 3\n")
    with pytest.raises(SlurmError, match="deepspeed_multinode_launcher: standard"):
        render_train_script("configs/leg_counting.yaml", "acct", work_dir=work, nodes=2,
                            accelerate_config="configs/accelerate/pdsh.yaml")
    render_train_script("configs/leg_counting.yaml", "acct", work_dir=work, nodes=2, accelerate_config=str(
        REPO / "configs" / "accelerate" / "zero3.yaml"))  # the shipped config says standard


def test_multi_node_script_with_fake_srun(work):
    path = train_script(work, nodes=3, gpus=2, model="org/override")
    proc = run_script(path, work, **MULTI_NODE_ENV)
    assert proc.returncode == 0, proc.stderr
    server, = calls(work, "vf-vllm")  # one server, on the first node only
    port = option(server, "--port")
    # every interface: the trainers on the other nodes must reach it
    assert server == (expected_server(work, 2, "0.0.0.0", port, ["model.name_or_path=org/override"])
                      + " CUDA_VISIBLE_DEVICES=0,1 node=node-0")
    assert option(server, "--data-parallel-size") == "2"

    step, = calls(work, "srun")
    assert "--nodes=2 --ntasks=2 --ntasks-per-node=1 --nodelist=node-1,node-2 " in step
    assert "--gres=gpu:a100:2" in step and "--kill-on-bad-exit=1" in step

    trainers = sorted(calls(work, "accelerate"), key=lambda line: line.rsplit("node=", 1)[1])
    assert [t.rsplit("node=", 1)[1] for t in trainers] == ["node-1", "node-2"]
    group_ports = set()
    for rank, line in enumerate(trainers):
        assert option(line, "--machine-rank") == str(rank)
        assert option(line, "--num-machines") == "2" and option(line, "--num-processes") == "4"
        # rendezvous on machine rank 0 (node-1); the port comes from the job id
        assert option(line, "--main-process-ip") == "node-1"
        assert option(line, "--main-process-port") == str(20000 + 4242 % 10000)
        assert " train_minimal.py configs/leg_counting.yaml vllm.host=node-0 " in line
        assert f" vllm.port={port} " in line and " model.name_or_path=org/override " in line
        assert "server_alive=yes" in line
        group_ports.add(re.search(r"vllm\.group_port=(\d+)", line).group(1))
    assert len(group_ports) == 1 and port not in group_ports
    assert not alive(server_pid(work))
    assert "stopping vf-vllm" in proc.stdout


def test_multi_node_failure_and_sigterm_stop_server_and_every_trainer(work):
    path = train_script(work, nodes=3, gpus=2)
    proc = run_script(path, work, FAKE_ACCEL_RC=5, **MULTI_NODE_ENV)
    assert proc.returncode == 5 and "trainer exited with status 5" in proc.stdout
    assert not alive(server_pid(work))

    for f in work.glob("*.pid"):
        f.unlink()
    rc, err = _start_and_sigterm(path, work, ["trainer-node-1.pid", "trainer-node-2.pid"], **MULTI_NODE_ENV)
    assert rc == 143 and "SIGTERM" in err
    assert not alive(server_pid(work))
    for node in ("node-1", "node-2"):
        assert not alive(int((work / f"trainer-{node}.pid").read_text()))


def test_multi_node_script_refuses_a_wrong_allocation(work):
    path = train_script(work, nodes=3, gpus=2)
    proc = run_script(path, work, **dict(MULTI_NODE_ENV, FAKE_NODES="node-0 node-1"))
    assert proc.returncode == 1 and "expected 3 nodes" in proc.stderr
    proc = run_script(path, work, **dict(MULTI_NODE_ENV, SLURMD_NODENAME="elsewhere"))
    assert proc.returncode == 1 and "not in the job's node list" in proc.stderr
    assert not calls(work, "vf-vllm")


# --- bench ----------------------------------------------------------------------------------


def test_bench_script(work):
    text = render_bench_script(["Qwen/Qwen2.5-7B-Instruct", "exp/run/checkpoint-10"], ["leg_counting,basic_arithmetic"],
                               "acct", gpus=8, n=50, rollouts=4, work_dir=work, time="12:00:00")
    assert "#SBATCH --job-name=rgv-bench" in text and "#SBATCH --gres=gpu:a100:8" in text
    assert "--array" not in text
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
    with pytest.raises(SlurmError, match="--array-size"):
        render_bench_script(["m"], ["t"], "acct", nodes=2)
    with pytest.raises(SlurmError, match=r"array_size \(5\) is more than the 4 \(model, task\) pairs"):
        render_bench_script(["a", "b"], ["t", "u"], "acct", array_size=5)


def test_shards_are_disjoint_and_cover_every_pair():
    from rg_verifiers.bench.spec import build_spec, parse_shard, shard_pairs

    models, tasks = ["m2", "m1", "m3"], ["t2", "t1"]
    everything = sorted((m, t) for m in models for t in tasks)
    for k in range(1, 7):
        shards = [shard_pairs(models, tasks, i, k) for i in range(k)]
        assert sorted(p for s in shards for p in s) == everything  # each pair exactly once
        assert max(map(len, shards)) - min(map(len, shards)) <= 1 and all(shards)
    # the order names are given in does not change the split
    assert shard_pairs(models, tasks, 1, 4) == shard_pairs(sorted(models), tasks[::-1], 1, 4)
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(RGVError, match="shard"):
            parse_shard(bad)
    with pytest.raises(RGVError, match="only 6 \\(model, task\\) pairs"):
        shard_pairs(models, tasks, 0, 7)

    spec = build_spec({"models": ["a=http://127.0.0.1:9/v1", "b=http://127.0.0.1:9/v1"],
                       "tasks": ["leg_counting", "chain_sum"], "shard": "0/2"})
    assert [(m.label, t.name) for m, t in spec.pairs()] == [("a", "leg_counting"), ("a", "chain_sum")]
    assert spec.describe()["shard"] == "0/2"


def test_plan_jobs_starts_servers_only_for_a_shards_tasks():
    from rg_verifiers.bench.servers import plan_jobs
    from rg_verifiers.bench.spec import ModelSpec

    a, b = ModelSpec("a", "hf", "a"), ModelSpec("b", "hf", "b")
    jobs = plan_jobs([a, b], {"a": ["t1", "t2", "t3"], "b": ["t3"]}, 4)
    assert sorted((j.model.label, tuple(j.tasks)) for j in jobs) == [("a", ("t1", "t3")), ("a", ("t2",)), ("b", ("t3",))]
    assert plan_jobs([a, b], {"a": ["t1"]}, 1) == plan_jobs([a], ["t1"], 1)


def _references(tasks, n):
    from rg_verifiers import serialization
    from rg_verifiers.env import load_rg_environment
    from rg_verifiers.references import reference_answer

    refs = {}
    for task in tasks:
        rows = load_rg_environment(task, num_eval_examples=n, num_train_examples=0, seed=0).eval_dataset.to_list()
        for row in rows:
            refs[row["question"]] = reference_answer(task, serialization.loads(row["info"]["entry"])) or ""
    return refs


def test_bench_job_array_covers_every_pair_once_then_merges(work):
    from fake_openai import FakeOpenAI
    from rg_verifiers.results import load_results

    tasks, n = ["leg_counting", "basic_arithmetic", "chain_sum"], 3
    with FakeOpenAI(_references(tasks, n)) as fake:
        models = [f"gold={fake.base_url}", f"wrong={fake.base_url}"]
        paths = write_bench_array(work / "bench.sh", models, tasks, "acct", array_size=2, n=n, gpus=4,
                                  work_dir=work, output_dir="results", merge_partition="cpu")
        assert paths == bench_array_paths(work / "bench.sh")
        array, merge = paths["array"].read_text(), paths["merge"].read_text()
        assert "#SBATCH --array=0-1\n" in array and "#SBATCH --output=logs/%x-%A_%a.out\n" in array
        merge_header = [line for line in merge.splitlines() if line.startswith("#SBATCH")]
        assert "#SBATCH --partition=cpu" in merge_header and "#SBATCH --job-name=rgv-bench-merge" in merge_header
        assert not [line for line in merge_header if line.startswith(("#SBATCH --gres", "#SBATCH --array"))]
        for p in paths.values():
            subprocess.run(["bash", "-n", str(p)], check=True)

        # the submit wrapper: the array first, then the merge held until every shard succeeded
        proc = subprocess.run(["bash", str(paths["submit"])], cwd=work, env=run_env(work), capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert calls(work, "sbatch") == [
            f"sbatch --parsable {paths['array']}",
            f"sbatch --parsable --dependency=afterok:1001 --kill-on-invalid-dep=yes {paths['merge']}",
        ]
        assert "array 1001" in proc.stdout and "merge job 1002" in proc.stdout

        # what Slurm then does: both array tasks (here one after the other), then the merge
        for index in (0, 1):
            proc = run_script(paths["array"], work, SLURM_ARRAY_TASK_ID=index, SLURM_ARRAY_JOB_ID=1001, REAL_RGV=RGV)
            assert proc.returncode == 0, proc.stderr[-3000:]
        # a shard writes neither an all-tasks file nor charts: they would cover a fraction of the pairs
        assert not list((work / "results").glob("results_all_tasks_*")) and not list((work / "results").glob("*.png"))
        proc = run_script(paths["merge"], work, REAL_RGV=RGV)
        assert proc.returncode == 0, proc.stderr[-3000:]

    bench_calls = calls(work, "rgv")
    assert [c.split()[1] for c in bench_calls] == ["bench", "bench", "report", "plot"]
    assert "--shard 0/2 --resume --no-plot" in bench_calls[0] and "--shard 1/2 --resume --no-plot" in bench_calls[1]

    out = work / "results"
    # every (model, task) pair has exactly its n rollouts, in the one shared folder
    for model in ("gold", "wrong"):
        for task in tasks:
            rows = [json.loads(x) for x in (out / "rollouts" / f"{model}__{task}.jsonl").read_text().splitlines()]
            assert sorted((r["example_id"], r["rollout"]) for r in rows) == [(i, 0) for i in range(n)]
    # each pair's results come from exactly one shard
    owners = {}
    for f in out.glob("results_*_shard*of2.json"):
        doc = json.loads(f.read_text())
        for model in doc["models"]:
            assert (model, doc["task"]) not in owners
            owners[(model, doc["task"])] = f.name.rsplit("_shard", 1)[1]
    assert sorted(owners) == sorted((m, t) for m in ("gold", "wrong") for t in tasks)
    assert set(owners.values()) == {"0of2.json", "1of2.json"}
    table = load_results(out)
    assert all(table.get(t, "gold").accuracy == 1.0 for t in tasks)
    # the merge step: one table and charts over every shard
    assert proc.stdout.count("gold") >= len(tasks) and "wrong" in proc.stdout
    assert (out / "chart.png").is_file()


# --- scripts/generate_slurm.py and the rgv CLI ----------------------------------------------


def test_generate_slurm_cli(work):
    script = REPO / "scripts" / "generate_slurm.py"
    proc = subprocess.run([sys.executable, str(script), "configs/leg_counting.yaml", "acct", "--gpus", "8",
                           "--inference-gpus", "2", "--time", "2-00:00:00", "--gpu-type", "h100", "--port", "9000",
                           "--model", "org/other"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = work / "slurm_leg_counting.sh"
    assert out.exists() and os.access(out, os.X_OK)
    text = out.read_text()
    assert "#SBATCH --gres=gpu:h100:8" in text and "--num-processes 6" in text
    assert "PINNED_PORT=9000\n" in text and "model.name_or_path=org/other" in text
    subprocess.run(["bash", "-n", str(out)], check=True)

    proc = subprocess.run([sys.executable, str(script), "configs/leg_counting.yaml", "acct", "--inference-gpus", "4"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: inference_gpus (4) must be less than gpus (4): "
                                   "the trainer needs at least one GPU")

    proc = subprocess.run([sys.executable, str(script), "configs/leg_counting.yaml", "acct", "--nodes", "2",
                           "--gpus", "4", "-o", "multi.sh"], cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--num-machines 1" in (work / "multi.sh").read_text()


def test_rgv_slurm_commands(work):
    from typer.testing import CliRunner

    from rg_verifiers.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["slurm", "train", "configs/leg_counting.yaml", "--account", "acct", "--port", "9001",
                              "--group-port", "9002", "--model", "org/m", "--nodes", "2", "-o", str(work / "t.sh"),
                              "--work-dir", str(work)])
    assert res.exit_code == 0, res.output
    text = (work / "t.sh").read_text()
    assert "PINNED_PORT=9001\nPINNED_GROUP_PORT=9002\n" in text and "model.name_or_path=org/m" in text

    res = runner.invoke(app, ["slurm", "bench", "--models", "a", "b", "--tasks", "leg_counting", "--account", "acct",
                              "--array-size", "2", "-o", str(work / "b.sh")])
    assert res.exit_code == 0, res.output
    assert all(p.is_file() for p in bench_array_paths(work / "b.sh").values())
    assert "bash " in res.output and "b_submit.sh" in res.output

    # option errors: one line, no traceback
    proc = subprocess.run([RGV, "slurm", "train", "configs/leg_counting.yaml", "--account", "acct", "--nodes", "2",
                           "--inference-gpus", "1"], cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "inference_gpus must equal gpus" in proc.stderr


def test_accelerate_config_option_reaches_the_launch(work):
    (work / "configs" / "accelerate").mkdir()
    (work / "configs" / "accelerate" / "ddp.yaml").write_text("distributed_type: MULTI_GPU\n")
    proc = run_script(train_script(work, accelerate_config="configs/accelerate/ddp.yaml"), work)
    assert proc.returncode == 0, proc.stderr
    trainer, = calls(work, "accelerate")
    assert trainer.startswith("accelerate launch --config-file configs/accelerate/ddp.yaml --num-processes 2 ")
    # the default is the shipped ZeRO-3 file, written as the cluster checkout will have it
    assert "--config-file configs/accelerate/zero3.yaml" in render_train_script("configs/leg_counting.yaml", "acct",
                                                                                work_dir=work)
    proc = subprocess.run([RGV, "slurm", "train", "configs/leg_counting.yaml", "--account", "acct",
                           "--accelerate-config", "configs/accelerate/zero9.yaml", "-o", str(work / "t.sh")],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and not (work / "t.sh").exists()
    assert proc.stderr.strip() == ("error: accelerate config file not found: configs/accelerate/zero9.yaml "
                                   "(looked in . and the current directory); did you mean 'configs/accelerate/ddp.yaml'?")


@pytest.mark.parametrize("kind", ["train", "bench"])
def test_job_scripts_load_dot_env_and_the_jobs_environment_wins(work, kind):
    (work / ".env").write_text("# secrets\nexport HF_TOKEN=hf_from_file\nWANDB_MODE=offline\n"
                               "RGV_PROBE=from_file\nHF_HOME=/scratch/${NO_SUCH_VARIABLE}/hf\n")
    if kind == "train":
        proc = run_script(train_script(work), work, RGV_PROBE="from_job")
        seen = [work / "vf-vllm.env", work / "accelerate.env"]
    else:
        (work / "bin" / "rgv").write_text('#!/bin/bash\nenv > "$FAKE_DIR/rgv.env"\n')
        path = write_script(render_bench_script(["m"], ["leg_counting"], "acct", work_dir=work), work / "b.sh")
        proc = run_script(path, work, RGV_PROBE="from_job")
        seen = [work / "rgv.env"]
    assert proc.returncode == 0, proc.stderr
    for path in seen:
        env = path.read_text()
        lines = env.splitlines()
        assert {"HF_TOKEN=hf_from_file", "WANDB_MODE=offline", "RGV_PROBE=from_job", "HF_HOME=/scratch//hf"} <= set(lines)


def test_reasoning_vocabulary_checkpoint_is_written_before_vf_vllm_serves_it(work):
    (work / "configs" / "rv.yaml").write_text("_base_: leg_counting.yaml\nmodel:\n  reasoning_vocab_size: 64\n"
                                              "training:\n  output_dir: outputs/rv\n")
    # a fake python that records the command (the real one would load the model)
    (work / "bin" / "python").write_text('#!/bin/bash\necho "python $*" >> "$FAKE_DIR/calls.log"\n')
    (work / "bin" / "python").chmod(0o755)
    path = write_script(render_train_script("configs/rv.yaml", "acct", work_dir=work, port=8000, group_port=51216),
                        work / "rv.sh")
    proc = run_script(path, work)
    assert proc.returncode == 0, proc.stderr
    log = calls(work)
    names = [line.split()[0] for line in log]
    assert names.index("python") < names.index("vf-vllm") < names.index("accelerate")
    assert log[names.index("python")] == "python -m rg_verifiers.reasoning_vocab configs/rv.yaml"
    assert option(log[names.index("vf-vllm")], "--model") == "outputs/rv/reasoning_vocab"
    plain = write_script(render_train_script("configs/leg_counting.yaml", "acct", work_dir=work), work / "plain.sh")
    assert "rg_verifiers.reasoning_vocab" not in plain.read_text()
