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
    (["tasks", "--category", "[oops]"], "unknown category '[oops]'"),  # brackets survive the printer
    (["show", "leg_counting", "-a", '{"sytem_prompt": "x"}'], "did you mean 'system_prompt'"),
    (["show", "rg-composite", "--difficulty", "1"], "give 'config' and 'difficulty' per task"),
    (["show", "rg-composite", "-a", '{"tasks": [{"name": "gcd", "weight": 0}]}'], "weight must be > 0"),
    (["show", "leg_counting", "--split", "test"], "split must be 'eval' or 'train'"),
    (["gold", "leg_countin"], "did you mean 'leg_counting'"),
    (["envs", "build-wheels", "rg-nope"], "unknown task 'nope'"),
    # an OSError is bad input too: one line, its type, and how to get the traceback
    (["envs", "build-wheels", "leg_counting", "-o", "/proc/no/such"], "RGV_DEBUG=1 shows the traceback"),
])
def test_bad_input_is_one_clear_line(args, expected):
    out = rgv(*args)
    assert out.returncode != 0
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_tasks_lists_all_with_sandbox_and_levels():
    rows = json.loads(rgv("tasks", "--json").stdout)
    assert len(rows) == 105 + 3  # reasoning-gym's, and the math datasets
    by_name = {r["task"]: r for r in rows}
    assert {"math", "gsm8k", "deepscaler"} <= set(by_name) and by_name["gsm8k"]["category"] == "math_datasets"
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


ROOT = Path(__file__).resolve().parent.parent
CPU_CONFIG = "configs/experiments/leg_counting_embedded_cpu.yaml"


def python(code, *args, env=None, timeout=300):
    import os

    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_missing_server_hint_keeps_its_brackets():
    """The printer of main() shows messages as text: rich markup used to eat `[serve]`."""
    out = python("import importlib.util as u, sys\n"
                 "real = u.find_spec\n"
                 "u.find_spec = lambda name, *a: None if name == 'llama_cpp' else real(name, *a)\n"
                 "sys.argv = ['rgv', 'serve']\n"
                 "from rg_verifiers.cli import main\n"
                 "main()")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["error: llama-cpp-python is not installed: run ./setup.sh, or "
                                               "`pip install 'rg-verifiers[serve]'`"], out.stderr


RAISE = "import sys\nfrom rg_verifiers.errors import RGVError, run_cli\ndef main(kind):\n    raise {'rgv': RGVError('bad [x]'), 'value': ValueError('bad\\nvalue'), 'key': KeyError('bug')}[kind]\nrun_cli(main, sys.argv[1])"


@pytest.mark.parametrize("kind,expected", [("rgv", "error: bad [x]"),
                                           ("value", "error: bad; value (ValueError; RGV_DEBUG=1 shows the traceback)")])
def test_user_errors_are_one_line_and_bugs_keep_their_traceback(kind, expected):
    out = python(RAISE, kind)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [expected], out.stderr
    debug = python(RAISE, kind, env={"RGV_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_unexpected_exceptions_keep_their_traceback():
    out = python(RAISE, "key")
    assert out.returncode == 1 and "Traceback" in out.stderr and "KeyError: 'bug'" in out.stderr


@pytest.mark.parametrize("args,expected", [
    (["no_such_override"], "must look like key=value"),
    (["training.output_dir=/proc/no/such"], "No such file or directory: '/proc/no"),  # an OSError, before any model work
    (["tasks=[{name: leg_counting, config: {max_animal: 3}}]"], "did you mean 'max_animals'"),
])
def test_train_minimal_bad_input_is_one_line(args, expected):
    done = subprocess.run([sys.executable, "train_minimal.py", CPU_CONFIG, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    lines = [ln for ln in done.stderr.splitlines() if ln.strip() and not ln.startswith(("backend:", "20"))]
    assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr[-2000:]


def test_show_prints_the_prompt_messages_the_environment_builds():
    from rg_verifiers.env import load_rg_environment
    from rg_verifiers.protocol import DEFAULT_SYSTEM_PROMPT

    out = rgv("show", "leg_counting", "-n", "2")
    assert out.returncode == 0, out.stderr
    env = load_rg_environment("leg_counting", num_eval_examples=2)
    for i, row in enumerate(env.eval_dataset):
        assert f"leg_counting [eval] #{i} (seed index" in out.stdout
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        for m in row["prompt"]:  # verbatim: no line breaks added at the console width
            assert f"{m['role']}:\n{m['content']}" in out.stdout
    assert out.stdout.count(DEFAULT_SYSTEM_PROMPT) == 2
    # env args reach the prompt; user text with brackets is printed as is
    custom = rgv("show", "rg-leg-counting", "-n", "1", "--split", "train", "-a", '{"system_prompt": "Reply [briefly]."}')
    assert custom.returncode == 0, custom.stderr
    assert "leg_counting [train] #0" in custom.stdout and "system:\nReply [briefly].\n" in custom.stdout
    user = rgv("show", "leg_counting", "-n", "1", "-a", '{"prompt_placement": "user"}')
    assert "system:" not in user.stdout and f"user:\n{DEFAULT_SYSTEM_PROMPT}\n\n" in user.stdout


def test_show_composite_default_mixture_and_given_tasks():
    out = rgv("show", "rg-composite", "-n", "3")
    assert out.returncode == 0, out.stderr
    for task in ("leg_counting", "basic_arithmetic", "chain_sum"):  # the package's DEFAULT_TASKS
        assert f": {task} (seed index" in out.stdout
    assert "rg-composite [eval] #2:" in out.stdout and out.stdout.count("reference:") == 3
    given = rgv("show", "rg_composite", "-n", "2", "-a", '{"tasks": ["gcd", {"name": "leg_counting", "difficulty": 1}]}')
    assert given.returncode == 0, given.stderr
    assert ": gcd (seed index" in given.stdout and ": leg_counting (seed index" in given.stdout


def test_bare_task_names_and_env_ids_are_the_same():
    assert rgv("show", "leg_counting", "-n", "1").stdout == rgv("show", "rg-leg-counting", "-n", "1").stdout
    gold = rgv("gold", "leg_counting", "rg-gcd", "-n", "2")
    assert gold.returncode == 0, gold.stderr
    assert "leg_counting" in gold.stdout and "gcd" in gold.stdout


def test_piped_tasks_are_tab_separated_with_full_names():
    out = rgv("tasks")
    lines = out.stdout.splitlines()
    assert lines[0].split("\t") == ["task", "env_id", "category", "levels", "sandboxed", "reference", "level_notes"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert len(rows) == 105 + 3 and all(len(r) == 7 for r in rows.values())
    assert rows["intermediate_integration"][:2] == ["intermediate_integration", "rg-intermediate-integration"]
    assert rows["leg_counting"][3:] == ["0..35", "no", "answer", "-"]


def test_version_and_short_help():
    from rg_verifiers import __version__

    out = rgv("--version")
    assert out.returncode == 0 and out.stdout.startswith(f"rg-verifiers {__version__} (verifiers ")
    for args in (["-h"], ["show", "-h"], ["envs", "build-wheels", "-h"], ["slurm", "train", "-h"]):
        out = rgv(*args)
        assert out.returncode == 0 and "Usage: rgv" in out.stdout, (args, out.stderr)


def test_configs_name_the_real_training_command():
    for path in (ROOT / "configs").rglob("*.yaml"):
        assert "rgv train" not in path.read_text(), path
    assert "python train_minimal.py configs/experiments/leg_counting_embedded_cpu.yaml" in (ROOT / CPU_CONFIG).read_text()


@pytest.mark.slow  # pip builds in an isolated env (setuptools from the package index)
def test_build_wheels_leaves_the_sources_clean(tmp_path):
    import shutil

    envs = tmp_path / "environments"
    shutil.copytree(ROOT / "environments" / "rg_gcd", envs / "rg_gcd", ignore=shutil.ignore_patterns("build", "*.egg-info"))

    def snapshot():
        core = [p for name in ("build", "rg_verifiers.egg-info") for p in [ROOT / name] if p.exists()]
        return (sorted(p.relative_to(envs) for p in envs.rglob("*")),
                {p: p.stat().st_mtime_ns for c in core for p in [c, *c.rglob("*")]})

    before = snapshot()
    out = rgv("envs", "build-wheels", "gcd", "-o", str(tmp_path / "wheels"), "--root", str(envs), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in (tmp_path / "wheels").glob("*.whl"))
    assert names == ["rg_gcd-0.1.0-py3-none-any.whl", "rg_verifiers-0.1.0-py3-none-any.whl"]
    assert snapshot() == before  # no build/, no *.egg-info, in the env folder or the checkout
    assert "pip install --find-links" in out.stdout and out.stdout.rstrip().endswith(" rg-gcd")


def test_tasks_lists_clamped_and_broken_levels():
    done = subprocess.run([sys.executable, "-m", "rg_verifiers.cli", "tasks"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in done.stdout.splitlines()}
    assert rows["task"][-1] == "level_notes"
    assert rows["knight_swap"][-1] == "clamped 0-4" and rows["jugs"][-1] == "broken 3"
    assert rows["leg_counting"][-1] == "-"
