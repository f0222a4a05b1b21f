"""`rgv`: the command line of rg-verifiers (typer)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

from .errors import RGVError

app = typer.Typer(help="reasoning-gym tasks as verifiers environments: list, inspect, evaluate, serve.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
envs_app = typer.Typer(help="Generate, check and package the environments/ folder.", no_args_is_help=True)
app.add_typer(envs_app, name="envs")
console = Console()
REPO_ENVS = Path(__file__).resolve().parent.parent / "environments"


def _json_arg(text: Optional[str], what: str) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RGVError(f"{what} must be a JSON object, e.g. '{{\"num_eval_examples\": 50}}' ({exc.msg} at char {exc.pos})") from None
    if not isinstance(value, dict):
        raise RGVError(f"{what} must be a JSON object, got {text!r}")
    return value


@app.command("tasks")
def tasks_cmd(category: Optional[str] = typer.Option(None, help="only this category"),
              as_json: bool = typer.Option(False, "--json", help="machine-readable output")):
    """List every task: env id, category, curriculum levels, sandboxed scoring, reference answers."""
    from .references import reference_note
    from .tasks import env_id_for, task_info, task_names

    infos = [task_info(t) for t in task_names()]
    if category:
        cats = sorted({i.category for i in infos})
        if category not in cats:
            from .errors import did_you_mean
            raise RGVError(f"unknown category {category!r}{did_you_mean(category, cats)} (categories: {', '.join(cats)})")
        infos = [i for i in infos if i.category == category]
    if as_json:
        print(json.dumps([{"task": i.name, "env_id": env_id_for(i.name), "category": i.category,
                           "difficulty_levels": i.difficulty_levels, "sandboxed": i.sandboxed} for i in infos], indent=1))
        return
    table = Table(title=f"{len(infos)} reasoning-gym tasks")
    for col in ("task", "env id", "category", "levels", "sandboxed", "reference"):
        table.add_column(col)
    for i in infos:
        table.add_row(i.name, env_id_for(i.name), i.category, f"0..{i.difficulty_levels - 1}" if i.difficulty_levels else "-",
                      "yes" if i.sandboxed else "no", _reference_kind(i.name))
    console.print(table)


def _reference_kind(task: str) -> str:
    from .references import METADATA_REFERENCES, NO_REFERENCE

    return "none" if task in NO_REFERENCE else "metadata" if task in METADATA_REFERENCES else "answer"


@app.command("show")
def show_cmd(task: str, n: int = typer.Option(2, "-n", help="how many items"),
             split: str = typer.Option("eval", help="eval or train"), seed: int = 0,
             difficulty: Optional[int] = None, config: Optional[str] = typer.Option(None, help="task config as JSON")):
    """Show sample items of a task exactly as the environment builds them (prompt + reference)."""
    from . import serialization
    from .data import TaskSpec, build_split
    from .references import reference_answer
    from .tasks import resolve_task

    if split not in ("eval", "train"):
        raise RGVError(f"split must be 'eval' or 'train', got {split!r}")
    spec = TaskSpec(resolve_task(task.replace("-", "_").removeprefix("rg_")), config=_json_arg(config, "--config"), difficulty=difficulty)
    rows, _ = build_split([spec], split, n, seed)
    for i, row in enumerate(rows):
        entry = serialization.loads(row["info"]["entry"])
        console.rule(f"{spec.name} [{split}] #{i} (seed index {row['info']['index']})")
        console.print(row["question"], markup=False)
        console.print(f"[b]reference:[/] {reference_answer(spec.name, entry)}")


@envs_app.command("generate")
def envs_generate(root: Path = typer.Option(REPO_ENVS, help="environments folder")):
    """(Re)write every environment package from the template."""
    from .envgen import write_all

    with console.status("rendering environments ...") as status:
        changed = write_all(root, progress=lambda i, n: status.update(f"rendering environments {i}/{n}"))
    console.print(f"{len(changed)} files changed under {root}")


@envs_app.command("check")
def envs_check(root: Path = typer.Option(REPO_ENVS, help="environments folder")):
    """Fail if environments/ differs from what the template and the registry produce."""
    from .envgen import check

    problems = check(root)
    if problems:
        raise RGVError(f"{len(problems)} environment files out of sync (first: {problems[0]}); run `rgv envs generate`")
    console.print("environments in sync with the registry")


@envs_app.command("build-wheels")
def envs_build_wheels(env_ids: List[str] = typer.Argument(..., help="e.g. rg-leg-counting rg-composite"),
                      output: Path = typer.Option(Path("wheels"), "-o", "--output"),
                      root: Path = typer.Option(REPO_ENVS, help="environments folder")):
    """Build wheels of the core package and the chosen environments, for `pip install --find-links`."""
    import subprocess

    from .envgen import module_name
    from .tasks import task_for_env_id

    folders = []
    for env_id in env_ids:
        if env_id != "rg-composite":
            task_for_env_id(env_id)  # unknown ids get close matches
        folder = root / module_name(env_id)
        if not folder.is_dir():
            raise RGVError(f"no environment folder {folder}; run `rgv envs generate`")
        folders.append(str(folder))
    output.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(output), str(root.parent), *folders]
    with console.status(f"building {len(folders) + 1} wheels ..."):
        done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RGVError(f"pip wheel failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    console.print(f"wheels in {output}: " + ", ".join(sorted(p.name for p in output.glob('*.whl'))))
    console.print(f"install elsewhere with: pip install --find-links {output} {' '.join(env_ids)}")


@app.command("gold")
def gold_cmd(tasks: Optional[List[str]] = typer.Argument(None, help="tasks (default: all)"),
             n: int = typer.Option(20, "-n", help="items per task")):
    """Check that every reference answer, wrapped in <answer> tags, scores 1.0."""
    from .goldcheck import check_task
    from .tasks import resolve_task, task_names

    names = [resolve_task(t) for t in tasks] if tasks else task_names()
    table = Table(title=f"gold round trip ({n} eval items per task)")
    for col in ("task", "checked", "passed", "note"):
        table.add_column(col)
    failed = []
    with console.status("checking ...") as status:
        for name in names:
            status.update(f"checking {name}")
            r = check_task(name, n)
            table.add_row(name, str(r.checked), str(r.passed), r.skipped_reason or ("ok" if r.ok else "[red]FAIL[/]"))
            if not r.ok:
                failed.append(name)
    console.print(table)
    if failed:
        raise RGVError(f"gold answers failed to score 1.0 for: {', '.join(failed)}")


@app.command("serve")
def serve_cmd(model: str = typer.Option("embedded", "-m", help="'embedded' or a .gguf path"),
              port: int = typer.Option(8000, help="port"), threads: int = typer.Option(1, help="CPU threads"),
              host: str = "127.0.0.1"):
    """Serve a model on CPU (llama.cpp's OpenAI-compatible server) until Ctrl-C."""
    import time

    from .serve import served

    with served(model, port=port, threads=threads, host=host) as server:
        console.print(f"vf-eval <env> -m {server.model} -b {server.base_url}   (Ctrl-C stops the server)")
        try:
            while server.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


@app.command("eval")
def eval_cmd(env_id: str = typer.Argument(..., help="e.g. rg-leg-counting"),
             model: Optional[str] = typer.Option(None, "-m", "--model", help="model name at the endpoint; default: the embedded SmolLM2-135M"),
             base_url: Optional[str] = typer.Option(None, "-b", "--base-url", help="OpenAI-compatible URL; default: start a CPU server"),
             env_args: Optional[str] = typer.Option(None, "-a", "--env-args", help="environment arguments as JSON"),
             num_examples: int = typer.Option(20, "-n", "--num-examples"),
             rollouts: int = typer.Option(1, "-r", "--rollouts-per-example"),
             max_tokens: int = typer.Option(256, "-t", "--max-tokens"),
             temperature: Optional[float] = typer.Option(None, "-T", "--temperature"),
             max_concurrent: int = typer.Option(8, "-c", "--max-concurrent"),
             output_dir: Path = typer.Option(Path("outputs"), "-o", "--output-dir"),
             api_key_var: str = typer.Option("OPENAI_API_KEY", "-k", "--api-key-var")):
    """Evaluate a model on an environment; with no -b, the embedded model on a CPU server started for you."""
    import contextlib

    from .evaluate import run_eval
    from .report import print_report
    from .serve import served

    args = _json_arg(env_args, "--env-args")
    if env_id.startswith("rg-"):
        if env_id != "rg-composite":
            from .tasks import task_for_env_id
            task_for_env_id(env_id)
        # build only the rows evaluated (the first n of a larger eval split are the same rows)
        args.setdefault("num_eval_examples", num_examples)
    if base_url is None and model not in (None, "embedded") and not model.endswith(".gguf"):
        raise RGVError(f"model {model!r} needs an endpoint: pass -b <url> (start one with vf-vllm/vLLM), or use a .gguf path")
    ctx = served(model) if base_url is None else contextlib.nullcontext(None)
    with ctx as server:
        url = server.base_url if server else base_url
        name = server.model if server else model
        if name is None:
            raise RGVError("-m/--model is required with -b/--base-url")
        with console.status(f"evaluating {name} on {env_id}: {num_examples} examples x {rollouts} rollouts ..."):
            path = run_eval(env_id, name, url, args, num_examples, rollouts, max_tokens, temperature, max_concurrent, output_dir, api_key_var)
    print_report([path], title=f"{env_id} — {name}")
    console.print(f"results (vf-eval format): {path}", soft_wrap=True)


@app.command("report")
def report_cmd(paths: List[Path] = typer.Argument(..., help="vf-eval results folders or rg-verifiers results JSON")):
    """Accuracy per task and model from saved results (vf-eval -s folders included)."""
    from .report import print_report

    for p in paths:
        if not p.exists():
            raise RGVError(f"no such file or folder: {p}")
    print_report(paths)


class _ListOptions(TyperCommand):
    """Lets list options take several values at once (`--models a b c`) besides typer's
    repeated form (`--models a --models b`): the extra values are rewritten as repeats."""

    list_flags = ("--models", "--tasks", "--rename")

    def parse_args(self, ctx, args):
        out, current = [], None
        for a in args:
            if a.startswith("-"):
                current = next((f for f in self.list_flags if a == f or a.startswith(f + "=")), None)
                out.append(a)
            elif current is not None and out[-1] != current:
                out += [current, a]
            else:
                out.append(a)
        return super().parse_args(ctx, out)


@app.command("bench", cls=_ListOptions)
def bench_cmd(models: Optional[List[str]] = typer.Option(None, "--models", help="embedded | FILE.gguf | NAME=URL | HF id | checkpoint/LoRA dir (several, or comma-separated)"),
              tasks: Optional[List[str]] = typer.Option(None, "--tasks", help="task names (several, or comma-separated)"),
              n: Optional[int] = typer.Option(None, "-n", help="eval items per task (default: 100)"),
              rollouts: Optional[int] = typer.Option(None, "-r", "--rollouts", help="rollouts per item (default: 1)"),
              gpus: Optional[int] = typer.Option(None, "--gpus", help="GPUs for local HF models (default: all visible)"),
              tensor_parallel: Optional[int] = typer.Option(None, "--tensor-parallel", help="GPUs per vLLM server (default: 1)"),
              output_dir: Optional[Path] = typer.Option(None, "-o", "--output-dir", help="results folder (default: benchmark_results)"),
              resume: Optional[bool] = typer.Option(None, "--resume/--no-resume", help="continue the rollouts saved in --output-dir"),
              max_concurrent: Optional[int] = typer.Option(None, "-c", "--max-concurrent", help="requests in flight per model server (default: 32)"),
              max_tokens: Optional[int] = typer.Option(None, "-t", "--max-tokens", help="default: 1024"),
              temperature: Optional[float] = typer.Option(None, "-T", "--temperature", help="default: 0.0 for -r 1, else 1.0"),
              seed: Optional[int] = typer.Option(None, "--seed", help="eval items and sampling seeds (default: 0)"),
              plot: Optional[bool] = typer.Option(None, "--plot/--no-plot", help="charts next to the results (default: on)"),
              server_timeout: Optional[float] = typer.Option(None, "--server-timeout", help="seconds for a vLLM server to start (default: 900)"),
              api_key_var: Optional[str] = typer.Option(None, "-k", "--api-key-var", help="env var holding the endpoint key (default: OPENAI_API_KEY)"),
              shard: Optional[str] = typer.Option(None, "--shard", help="I/K: only block I (0-based) of K of the sorted (model, task) pairs; K runs into one -o folder cover each pair once, e.g. a SLURM array (rgv slurm bench --array-size)"),
              config: Optional[Path] = typer.Option(None, "--config", help="YAML with the same keys (models, tasks with config/difficulty, n, ...); flags override it")):
    """Benchmark models x tasks on the same fixed eval items; rollouts saved as they finish, resumable."""
    from .bench import build_spec, run_bench
    from .bench.runner import exit_now, report_outcome

    options = dict(models=models, tasks=tasks, n=n, rollouts=rollouts, gpus=gpus, tensor_parallel=tensor_parallel,
                   output_dir=output_dir, resume=resume, max_concurrent=max_concurrent, max_tokens=max_tokens,
                   temperature=temperature, seed=seed, plot=plot, server_timeout=server_timeout, api_key_var=api_key_var,
                   shard=shard)
    outcome = run_bench(build_spec(options, config), console=Console(stderr=True))
    exit_now(report_outcome(outcome, Console(width=None if sys.stdout.isatty() else 200), Console(stderr=True)))


@app.command("plot", cls=_ListOptions)
def plot_cmd(paths: List[Path] = typer.Argument(..., help="results JSON files, benchmark folders or vf-eval -s folders"),
             output: Optional[Path] = typer.Option(None, "-o", "--output", help=".png/.svg/.pdf (default: chart next to the first input)"),
             title: Optional[str] = typer.Option(None, "--title"),
             rename: Optional[List[str]] = typer.Option(None, "--rename", help="OLD=NEW display names (several)"),
             rename_file: Optional[Path] = typer.Option(None, "--rename-file", help="JSON object {model id: display name}"),
             baseline: Optional[str] = typer.Option(None, "--baseline", help="with --finetuned: also a per-task delta chart"),
             finetuned: Optional[str] = typer.Option(None, "--finetuned")):
    """Charts of saved results: bars per task, summary + heatmap for several tasks, fine-tuning delta."""
    from .plotting import load_renames, plot_results

    for p in paths:
        if not p.exists():
            raise RGVError(f"no such file or folder: {p}")
    if output is None:
        first = paths[0]
        output = first / "chart.png" if first.is_dir() else first.with_suffix(".png")
    written = plot_results(paths, output, title=title, renames=load_renames(rename or [], rename_file),
                           baseline=baseline, finetuned=finetuned)
    for path in written:
        console.print(f"wrote {path}", soft_wrap=True, highlight=False)


slurm_app = typer.Typer(help="Generate SLURM job scripts (vf-vllm + accelerate ZeRO-3 training; benchmarks).",
                        no_args_is_help=True)
app.add_typer(slurm_app, name="slurm")
_SLURM_DEFAULTS = dict(partition="GPUQ", time="04:00:00", gpu_type="a100", cpus=16, memory="320G", nodes=1)


def _write_job(text: str, output: Optional[Path]) -> None:
    from .slurm import write_script

    job_name = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("#SBATCH --job-name="))
    out = write_script(text, output or Path(f"slurm_{job_name}.sh"))
    console.print(f"wrote {out}; submit with: mkdir -p logs && sbatch {out}", soft_wrap=True)


@slurm_app.command("train")
def slurm_train(config: Path = typer.Argument(..., help="experiment config, e.g. configs/experiments/leg_counting_qwen1.5b.yaml"),
                account: str = typer.Option(..., "--account", help="SLURM account"),
                gpus: int = typer.Option(4, help="GPUs per node"),
                inference_gpus: Optional[int] = typer.Option(None, help="GPUs of the first node that run vf-vllm; one node: the rest train (default 2); several nodes: must be --gpus (the default), the other nodes train"),
                partition: str = _SLURM_DEFAULTS["partition"], time: str = _SLURM_DEFAULTS["time"],
                gpu_type: str = _SLURM_DEFAULTS["gpu_type"], cpus: int = _SLURM_DEFAULTS["cpus"],
                memory: str = _SLURM_DEFAULTS["memory"],
                nodes: int = typer.Option(_SLURM_DEFAULTS["nodes"], help="nodes; >= 2: vf-vllm on node 0, accelerate multi-node on the others"),
                output: Optional[Path] = typer.Option(None, "--output", "-o", help="default: slurm_<job>.sh"),
                work_dir: Path = typer.Option(Path("."), help="the checkout on the cluster"),
                model: Optional[str] = typer.Option(None, help="model.name_or_path for the server AND the trainer (default: the config's)"),
                port: Optional[int] = typer.Option(None, help="vf-vllm HTTP port (default: a free port chosen when the job starts)"),
                group_port: Optional[int] = typer.Option(None, help="weight-sync port (default: a free port chosen when the job starts)"),
                health_timeout: int = typer.Option(900, help="seconds to wait for vf-vllm"),
                job_name: Optional[str] = None):
    """sbatch script: vf-vllm on the inference GPUs, health wait, accelerate ZeRO-3 on the rest, server always stopped."""
    from .slurm import render_train_script

    _write_job(render_train_script(config, account, gpus=gpus, inference_gpus=inference_gpus, partition=partition, time=time,
                                   gpu_type=gpu_type, cpus=cpus, memory=memory, nodes=nodes, work_dir=work_dir, model=model,
                                   port=port, group_port=group_port, health_timeout=health_timeout, job_name=job_name), output)


@slurm_app.command("bench", cls=_ListOptions)
def slurm_bench(models: List[str] = typer.Option(..., "--models", help="as for rgv bench"),
                tasks: List[str] = typer.Option(..., "--tasks", help="task names"),
                account: str = typer.Option(..., "--account", help="SLURM account"),
                gpus: int = 8, n: int = typer.Option(100, "-n"), rollouts: int = typer.Option(1, "-r"),
                partition: str = _SLURM_DEFAULTS["partition"], time: str = _SLURM_DEFAULTS["time"],
                gpu_type: str = _SLURM_DEFAULTS["gpu_type"], cpus: int = _SLURM_DEFAULTS["cpus"],
                memory: str = _SLURM_DEFAULTS["memory"], nodes: int = _SLURM_DEFAULTS["nodes"],
                output: Optional[Path] = typer.Option(None, "--output", "-o"), work_dir: Path = Path("."),
                job_name: Optional[str] = None, output_dir: str = "benchmark_results",
                array_size: int = typer.Option(1, "--array-size", help="K >= 2: a job array of K one-node shards (rgv bench --shard I/K) into one --output-dir, plus a merge job and a submit script"),
                merge_partition: Optional[str] = typer.Option(None, help="partition of the array's GPU-less merge job (default: --partition)")):
    """sbatch script running `rgv bench` for models x tasks on one GPU node, or as a job array over K nodes."""
    from .slurm import render_bench_script, write_bench_array

    kw = dict(gpus=gpus, n=n, rollouts=rollouts, partition=partition, time=time, gpu_type=gpu_type, cpus=cpus,
              memory=memory, nodes=nodes, work_dir=work_dir, job_name=job_name, output_dir=output_dir)
    if array_size == 1:
        _write_job(render_bench_script(models, tasks, account, **kw), output)
        return
    paths = write_bench_array(output or Path(f"slurm_{job_name or 'rgv-bench'}.sh"), models, tasks, account,
                              array_size=array_size, merge_partition=merge_partition, **kw)
    console.print(f"wrote {paths['array']} (array of {array_size} shards), {paths['merge']} (merge, after all shards) "
                  f"and {paths['submit']}", soft_wrap=True)
    console.print(f"submit both with: bash {paths['submit']}   (from the directory that holds logs/)", soft_wrap=True)


def main() -> None:
    try:
        app()
    except RGVError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {exc}", markup=True, highlight=False)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
