"""`rgv`: the command line of rg-verifiers (typer)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from .errors import RGVError

# context settings reach every subcommand: `-h` works everywhere `--help` does
app = typer.Typer(help="reasoning-gym tasks as verifiers environments: list, inspect, evaluate, serve.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
envs_app = typer.Typer(help="Generate, check and package the environments/ folder.", no_args_is_help=True)
app.add_typer(envs_app, name="envs")
console = Console()
REPO_ENVS = Path(__file__).resolve().parent.parent / "environments"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    def v(dist):
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    return f"rg-verifiers {__version__} (verifiers {v('verifiers')}, reasoning-gym {v('reasoning-gym')})"


def _print_version(value: bool) -> None:
    if value:
        print(_versions())
        raise typer.Exit()


@app.callback()
def _app_options(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                              help="print the versions of rg-verifiers, verifiers and reasoning-gym")):
    """reasoning-gym tasks as verifiers environments: list, inspect, evaluate, serve."""


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
    from .tasks import all_task_names, env_id_for, task_info

    infos = [task_info(t) for t in all_task_names()]  # reasoning-gym's, then the math datasets
    if category:
        cats = sorted({i.category for i in infos})
        if category not in cats:
            from .errors import did_you_mean
            raise RGVError(f"unknown category {category!r}{did_you_mean(category, cats)} (categories: {', '.join(cats)})")
        infos = [i for i in infos if i.category == category]
    if as_json:
        from .tasks import level_notes

        print(json.dumps([{"task": i.name, "env_id": env_id_for(i.name), "category": i.category,
                           "difficulty_levels": i.difficulty_levels, "sandboxed": i.sandboxed,
                           "level_notes": {str(k): v for k, v in level_notes(i.name).items()}} for i in infos], indent=1))
        return
    rows = [(i.name, env_id_for(i.name), i.category, f"0..{i.difficulty_levels - 1}" if i.difficulty_levels else "-",
             "yes" if i.sandboxed else "no", _reference_kind(i.name), _level_notes(i.name)) for i in infos]
    columns = ("task", "env_id", "category", "levels", "sandboxed", "reference", "level_notes")
    if not sys.stdout.isatty():
        # piped: tab-separated lines (full names, for cut/grep/awk) instead of a table fitted to 80 columns
        print("\n".join("\t".join(row) for row in [columns, *rows]))
        return
    table = Table(title=f"{len(infos)} tasks")
    for col in columns:
        table.add_column(col.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


def _level_notes(task: str) -> str:
    """Curriculum levels reasoning-gym's own config rejects: 'clamped 2-3' (made valid, see
    tasks.CLAMPED_LEVELS) or 'broken 3' (a one-line error)."""
    from .tasks import level_notes

    kinds: dict[str, list[int]] = {}
    for level, note in sorted(level_notes(task).items()):
        kinds.setdefault(note.split(":", 1)[0], []).append(level)
    def span(levels: list[int]) -> str:
        contiguous = levels == list(range(levels[0], levels[-1] + 1))
        return f"{levels[0]}-{levels[-1]}" if contiguous and len(levels) > 1 else ",".join(map(str, levels))

    return "; ".join(f"{kind} {span(levels)}" for kind, levels in kinds.items()) or "-"


def _reference_kind(task: str) -> str:
    from .references import METADATA_REFERENCES, NO_REFERENCE

    return "none" if task in NO_REFERENCE else "metadata" if task in METADATA_REFERENCES else "answer"


@app.command("show")
def show_cmd(task: str = typer.Argument(..., help="task name or env id: leg_counting, rg-leg-counting, rg-composite"),
             n: int = typer.Option(2, "-n", help="how many items"),
             split: str = typer.Option("eval", help="eval or train"),
             seed: Optional[int] = typer.Option(None, help="environment seed (default 0)"),
             difficulty: Optional[int] = typer.Option(None, help="curriculum level"),
             config: Optional[str] = typer.Option(None, help="task config as JSON"),
             env_args: Optional[str] = typer.Option(None, "-a", "--env-args", help="environment arguments as JSON, as for rgv eval / vf-eval -a (rg-composite: {\"tasks\": [...]})")):
    """Show sample items exactly as the environment builds them: the prompt messages (system + user) and the reference."""
    from . import serialization
    from .references import reference_answer

    if split not in ("eval", "train"):
        raise RGVError(f"split must be 'eval' or 'train', got {split!r}")
    if n < 1:
        raise RGVError(f"-n must be at least 1, got {n}")
    args = _json_arg(env_args, "--env-args")
    for key, value in (("config", _json_arg(config, "--config") if config else None), ("difficulty", difficulty), ("seed", seed)):
        if value is not None:
            args[key] = value
    # a single task's first n rows are the same whatever the split size: build only those
    # (a mixture's rows depend on its size; -a num_eval_examples / num_train_examples sets it)
    args.setdefault("num_eval_examples" if split == "eval" else "num_train_examples", n)
    from .splits import splits_for

    env_id, splits = splits_for(task, args)
    dataset = splits.eval_rows if split == "eval" else splits.train_rows()
    if not dataset:
        raise RGVError(f"{env_id} has no {split} rows with these arguments ({args})")
    for i, row in enumerate(splits.prompt_rows(dataset[:n])):
        info = json.loads(row["info"]) if isinstance(row["info"], str) else row["info"]
        name = info["rg_task"]
        where = f"{name} [{split}] #{i}" if env_id != _COMPOSITE else f"{env_id} [{split}] #{i}: {name}"
        console.rule(Text(f"{where} (seed index {info['index']})"))
        for message in row["prompt"]:
            console.print(Text(f"{message['role']}:", style="bold cyan"))
            # soft_wrap: the text exactly as sent, no line breaks added at the console width
            console.print(Text(message["content"] or ""), soft_wrap=True, highlight=False)
        answer = reference_answer(name, serialization.loads(info["entry"]))
        console.print(Text.assemble(("reference:", "bold"), " ", "(none: scored by the task's verifier)" if answer is None else str(answer)),
                      soft_wrap=True, highlight=False)


_COMPOSITE = "rg-composite"


@envs_app.command("generate")
def envs_generate(root: Path = typer.Option(REPO_ENVS, help="environments folder")):
    """(Re)write every environment package from the template."""
    from .envgen import write_all

    with console.status("rendering environments ...") as status:
        changed = write_all(root, progress=lambda i, n: status.update(f"rendering environments {i}/{n}"))
    console.print(Text(f"{len(changed)} files changed under {root}"), soft_wrap=True)


@envs_app.command("check")
def envs_check(root: Path = typer.Option(REPO_ENVS, help="environments folder")):
    """Fail if environments/ differs from what the template and the registry produce."""
    from .envgen import check

    problems = check(root)
    if problems:
        raise RGVError(f"{len(problems)} environment files out of sync (first: {problems[0]}); run `rgv envs generate`")
    console.print("environments in sync with the registry")


@envs_app.command("build-wheels")
def envs_build_wheels(env_ids: List[str] = typer.Argument(..., help="env ids or task names, e.g. rg-leg-counting gcd rg-composite"),
                      output: Path = typer.Option(Path("wheels"), "-o", "--output"),
                      root: Path = typer.Option(REPO_ENVS, help="environments folder")):
    """Build wheels of the core package and the chosen environments, for `pip install --find-links`."""
    import shutil
    import subprocess
    import tempfile

    from .tasks import env_id_for, task_for_env_id

    core = REPO_ENVS.parent
    if not (core / "pyproject.toml").is_file():
        raise RGVError(f"building wheels needs a source checkout of rg-verifiers; {core} is an installed copy")
    chosen = {}
    for name in env_ids:
        env_id = _COMPOSITE if name.split("/")[-1].replace("_", "-") == _COMPOSITE else env_id_for(task_for_env_id(name))
        folder = root / env_id.replace("-", "_")
        if not folder.is_dir():
            raise RGVError(f"no environment folder {folder}; run `rgv envs generate`")
        chosen[env_id] = folder
    output = output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    # setuptools writes build/ and *.egg-info next to the sources: build from copies so the
    # checkout stays as git has it (and no stale egg-info lands on the environments' import path)
    with tempfile.TemporaryDirectory(prefix="rgv-wheels-") as tmp:
        sources = [Path(tmp) / "rg-verifiers"]
        sources[0].mkdir()
        for item in ("pyproject.toml", "README.md"):
            shutil.copy2(core / item, sources[0] / item)
        skip = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc", "outputs")
        shutil.copytree(core / "rg_verifiers", sources[0] / "rg_verifiers", ignore=skip)
        for folder in chosen.values():
            sources.append(Path(tmp) / folder.name)
            shutil.copytree(folder, sources[-1], ignore=skip)
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(output), *map(str, sources)]
        with console.status(f"building {len(sources)} wheels ..."):
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    if done.returncode:
        raise RGVError(f"pip wheel failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    console.print(f"wheels in {output}: " + ", ".join(sorted(p.name for p in output.glob("*.whl"))), soft_wrap=True, highlight=False)
    console.print(f"install elsewhere with: pip install --find-links {output} {' '.join(chosen)}", soft_wrap=True, highlight=False)


@app.command("gold")
def gold_cmd(tasks: Optional[List[str]] = typer.Argument(None, help="tasks (default: all)"),
             n: int = typer.Option(20, "-n", help="items per task")):
    """Check that every reference answer, wrapped in <answer> tags, scores 1.0."""
    from .goldcheck import check_task
    from .tasks import task_for_env_id, task_names

    names = [task_for_env_id(t) for t in tasks] if tasks else task_names()
    table = Table(title=f"gold round trip ({n} eval items per task)")
    for col in ("task", "checked", "passed", "note"):
        table.add_column(col)
    failed = []
    with console.status("checking ...") as status:
        for name in names:
            status.update(f"checking {name}")
            r = check_task(name, n)
            note = Text(r.skipped_reason) if r.skipped_reason else Text("ok") if r.ok else Text("FAIL", style="red")
            table.add_row(name, str(r.checked), str(r.passed), note)
            if not r.ok:
                failed.append(name)
    # piped: wide enough that notes are not cut to 80 columns
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    if failed:
        raise RGVError(f"gold answers failed to score 1.0 for: {', '.join(failed)}")


@app.command("serve")
def serve_cmd(model: str = typer.Option("embedded", "-m", help="'embedded', a .gguf path, or a checkpoint folder (exported to GGUF f32 once, cached)"),
              port: int = typer.Option(8000, help="port"), threads: int = typer.Option(1, help="CPU threads"),
              host: str = "127.0.0.1"):
    """Serve a model on CPU (llama.cpp's OpenAI-compatible server) until Ctrl-C: embedded, a GGUF, or a trained checkpoint."""
    import time

    from .serve import served

    with served(model, port=port, threads=threads, host=host) as server:
        console.print(Text(f"vf-eval <env> -m {server.model} -b {server.base_url}   (Ctrl-C stops the server)"), soft_wrap=True)
        try:
            while server.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


@app.command("eval")
def eval_cmd(env_id: str = typer.Argument(..., help="e.g. rg-leg-counting, or the bare task name leg_counting"),
             model: Optional[str] = typer.Option(None, "-m", "--model", help="model name at the endpoint (default with -b: the one it serves); without -b: embedded, a .gguf, or a checkpoint folder (served on CPU)"),
             base_url: Optional[str] = typer.Option(None, "-b", "--base-url", help="OpenAI-compatible URL; default: start a CPU server"),
             env_args: Optional[str] = typer.Option(None, "-a", "--env-args", help="environment arguments as JSON"),
             num_examples: int = typer.Option(20, "-n", "--num-examples"),
             rollouts: int = typer.Option(1, "-r", "--rollouts-per-example"),
             max_tokens: Optional[int] = typer.Option(None, "-t", "--max-tokens", help="default: 1024"),
             temperature: Optional[float] = typer.Option(None, "-T", "--temperature", help="default: 0 (greedy) for -r 1, else 1.0"),
             top_p: Optional[float] = typer.Option(None, "--top-p", help="default: 1.0"),
             seed: Optional[int] = typer.Option(None, "--seed", help="base of the per-request sampling seeds (default: 0)"),
             max_concurrent: int = typer.Option(8, "-c", "--max-concurrent"),
             output_dir: Path = typer.Option(Path("outputs"), "-o", "--output-dir"),
             api_key_var: str = typer.Option("OPENAI_API_KEY", "-k", "--api-key-var"),
             samples: int = typer.Option(3, "--samples", help="sample completions to print")):
    """Evaluate a model on an environment; with no -b, the embedded model (or -m FILE.gguf / checkpoint folder) on a CPU server started for you."""
    from .evaluate import eval_command

    code = eval_command(env_id, model=model, base_url=base_url, env_args=_json_arg(env_args, "--env-args"),
                        num_examples=num_examples, rollouts=rollouts, max_tokens=max_tokens, temperature=temperature,
                        top_p=top_p, seed=seed, max_concurrent=max_concurrent, output_dir=output_dir,
                        api_key_var=api_key_var, samples=samples, console=console, err_console=Console(stderr=True))
    if code:
        raise typer.Exit(code)


@app.command("report")
def report_cmd(paths: List[Path] = typer.Argument(..., help="vf-eval results folders, rg-verifiers results JSON, or folders holding them"),
               fmt: Optional[str] = typer.Option(None, "--format", "-f", help="table (default), json, csv, md, or rg-json (reasoning-gym eval folders, one per run, under -o DIR); with -o the file's extension decides"),
               output: Optional[Path] = typer.Option(None, "-o", "--output", help="write the export to this file (.json/.csv/.md)"),
               latest: bool = typer.Option(False, "--latest", help="of runs with identical settings, keep only the newest (default: every run, each labelled)"),
               title: Optional[str] = typer.Option(None, "--title"),
               html: Optional[Path] = typer.Option(None, "--html", help="also write one self-contained HTML page: charts, per-task table with CIs, sample completions, settings"),
               reference: Optional[str] = typer.Option(None, "--reference", help="rg-easy | rg-hard: the reasoning-gym paper's published per-task scores beside yours")):
    """Accuracy per task and run from saved results (vf-eval -s folders included); exports JSON, CSV, markdown.

    Runs are keyed by task, model, difficulty/config, prompt env args and generation settings;
    none is dropped: runs of one model on one task get labels saying what differs."""
    from .report import report

    for p in paths:
        if not p.exists():
            raise RGVError(f"no such file or folder: {p}")
    if reference:
        from .suites.paper import check_reference

        check_reference(reference)
    if html is not None:
        from .html_report import write_html
        from .report import print_notes
        from .results import load_results

        table = load_results(list(paths), latest=latest)
        write_html(paths, html, reference=reference, title=title, table=table)
        print_notes(table)
        Console(stderr=True, soft_wrap=True, highlight=False).print(f"wrote {html}")
        if fmt is None and output is None:
            return
    report(paths, fmt=fmt, output=output, title=title or "results", latest=latest, reference=reference)


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
def bench_cmd(models: Optional[List[str]] = typer.Option(None, "--models", help="embedded | FILE.gguf | NAME=URL | NAME=MODEL@URL | HF id | checkpoint/LoRA dir (vLLM on GPUs; without a GPU, llama.cpp on CPU) (several, or comma-separated)"),
              tasks: Optional[List[str]] = typer.Option(None, "--tasks", help="task names (several, or comma-separated)"),
              n: Optional[int] = typer.Option(None, "-n", help="eval items per task (default: 100)"),
              rollouts: Optional[int] = typer.Option(None, "-r", "--rollouts", help="rollouts per item (default: 1)"),
              gpus: Optional[int] = typer.Option(None, "--gpus", help="GPUs for local HF models (default: all visible)"),
              tensor_parallel: Optional[int] = typer.Option(None, "--tensor-parallel", help="GPUs per vLLM server (default: 1)"),
              output_dir: Optional[Path] = typer.Option(None, "-o", "--output-dir", help="results folder (default: benchmark_results)"),
              resume: Optional[bool] = typer.Option(None, "--resume/--no-resume", help="continue the rollouts saved in --output-dir"),
              max_concurrent: Optional[int] = typer.Option(None, "-c", "--max-concurrent", help="requests in flight per model server (default: 32)"),
              max_tokens: Optional[int] = typer.Option(None, "-t", "--max-tokens", help="default: 1024"),
              temperature: Optional[float] = typer.Option(None, "-T", "--temperature", help="default: 0 (greedy) for -r 1, else 1.0"),
              top_p: Optional[float] = typer.Option(None, "--top-p", help="default: 1.0"),
              seed: Optional[int] = typer.Option(None, "--seed", help="eval items and sampling seeds (default: 0)"),
              plot: Optional[bool] = typer.Option(None, "--plot/--no-plot", help="charts next to the results (default: on)"),
              server_timeout: Optional[float] = typer.Option(None, "--server-timeout", help="seconds for a vLLM server to start (default: 900)"),
              api_key_var: Optional[str] = typer.Option(None, "-k", "--api-key-var", help="env var holding the endpoint key (default: OPENAI_API_KEY)"),
              shard: Optional[str] = typer.Option(None, "--shard", help="I/K: only block I (0-based) of K of the sorted (model, task) pairs; K runs into one -o folder cover each pair once, e.g. a SLURM array (rgv slurm bench --array-size)"),
              config: Optional[Path] = typer.Option(None, "--config", help="YAML with the same keys (models, tasks with config/difficulty, n, ...); flags override it"),
              suite: Optional[str] = typer.Option(None, "--suite", help="rg-easy | rg-hard | PATH.yaml (reasoning-gym's eval config format): its tasks, exactly its items (create_dataset seed/size/params) and system prompt; --tasks picks some, -n the first n items")):
    """Benchmark models x tasks on the same fixed eval items; rollouts saved as they finish, resumable."""
    from .bench import build_spec, run_bench
    from .bench.runner import exit_now, report_outcome

    options = dict(models=models, tasks=tasks, n=n, rollouts=rollouts, gpus=gpus, tensor_parallel=tensor_parallel,
                   output_dir=output_dir, resume=resume, max_concurrent=max_concurrent, max_tokens=max_tokens,
                   temperature=temperature, top_p=top_p, seed=seed, plot=plot, server_timeout=server_timeout, api_key_var=api_key_var,
                   shard=shard, suite=suite)
    outcome = run_bench(build_spec(options, config), console=Console(stderr=True))
    exit_now(report_outcome(outcome, Console(width=None if sys.stdout.isatty() else 200), Console(stderr=True)))


@app.command("plot", cls=_ListOptions)
def plot_cmd(paths: List[Path] = typer.Argument(..., help="results JSON files, benchmark folders or vf-eval -s folders"),
             output: Optional[Path] = typer.Option(None, "-o", "--output", help=".png/.svg/.pdf (default: chart next to the first input)"),
             title: Optional[str] = typer.Option(None, "--title"),
             rename: Optional[List[str]] = typer.Option(None, "--rename", help="OLD=NEW display names (several)"),
             rename_file: Optional[Path] = typer.Option(None, "--rename-file", help="JSON object or YAML mapping {model id: display name}"),
             baseline: Optional[str] = typer.Option(None, "--baseline", help="with --finetuned: also a per-task delta chart"),
             finetuned: Optional[str] = typer.Option(None, "--finetuned"),
             metric: str = typer.Option("accuracy", "--metric", help="accuracy, pass@k (largest shared k) or pass@N, parse-failure, error-rate, tokens"),
             sort: str = typer.Option("input", "--sort", help="task order: input, name, value (highest first), category"),
             by_category: bool = typer.Option(False, "--by-category", help="group tasks by reasoning-gym category (--sort orders inside each)"),
             latest: bool = typer.Option(False, "--latest", help="of runs with identical settings, keep only the newest"),
             reference: Optional[str] = typer.Option(None, "--reference", help="rg-easy | rg-hard: draw the reasoning-gym paper's published runs beside yours (overall bar, category radar, per-task dots)")):
    """Charts of saved results: bars per task, summary + heatmap for several tasks, fine-tuning delta."""
    import warnings

    from rich.text import Text

    from .plotting import load_renames, plot_results
    from .report import print_notes
    from .results import load_results

    for p in paths:
        if not p.exists():
            raise RGVError(f"no such file or folder: {p}")
    if output is None:
        first = paths[0]
        output = first / "chart.png" if first.is_dir() else first.with_suffix(".png")
    renames = load_renames(rename or [], rename_file)
    plot_results([], output, metric=metric, sort=sort, baseline=baseline, finetuned=finetuned, check_only=True)
    if reference:
        from .suites.paper import check_reference

        check_reference(reference)
    table = load_results(paths, latest=latest)
    if reference:
        from .html_report import categories_for
        from .suite_charts import reference_charts
        from .suites.paper import add_reference, caveats

        add_reference(table, reference)
        print_notes(table)
        notes = caveats(reference, table.tasks)
        for path in reference_charts(table, categories_for(table, reference), output, notes=notes, labels=renames):
            console.print(f"wrote {path}", soft_wrap=True, highlight=False)
        return
    print_notes(table)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = plot_results(table, output, title=title, renames=renames, baseline=baseline, finetuned=finetuned,
                               metric=metric, sort=sort, by_category=by_category)
    for w in caught:  # one line each, not Python's two-line warning with a source location
        Console(stderr=True, soft_wrap=True, highlight=False).print(Text(f"warning: {w.message}"))
    for path in written:
        console.print(f"wrote {path}", soft_wrap=True, highlight=False)


class _CurvesOptions(_ListOptions):
    list_flags = ("--label",)


@app.command("curves", cls=_CurvesOptions)
def curves_cmd(run_dirs: List[Path] = typer.Argument(..., metavar="RUN_DIR", help="training output folders (training.output_dir of each run)"),
               label: Optional[List[str]] = typer.Option(None, "--label", help="display name of each run, in the order of the folders: --label A B after the folders, or repeated"),
               output: Optional[Path] = typer.Option(None, "-o", "--output", help=".png/.svg/.pdf (default: RUN_DIR/training_curves.png for one run, ./training_curves.png for several)"),
               title: Optional[str] = typer.Option(None, "--title")):
    """Training curves from metrics.jsonl and eval_results/: reward, reward components, eval accuracy and
    parse failures, zero-variance prompts, curriculum levels, warm-up loss; several runs are overlaid."""
    import warnings

    from rich.text import Text

    from .curves import CURVES_FILE, CurvesNote, draw_curves

    if output is None:
        output = run_dirs[0] / CURVES_FILE if len(run_dirs) == 1 else Path(CURVES_FILE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CurvesNote)
        written = draw_curves(run_dirs, label or None, output, title)
    for w in caught:  # one line each, not Python's two-line warning with a source location
        Console(stderr=True, soft_wrap=True, highlight=False).print(Text(f"warning: {w.message}"))
    console.print(f"wrote {written}", soft_wrap=True, highlight=False)


slurm_app = typer.Typer(help="Generate SLURM job scripts (vf-vllm + accelerate ZeRO-3 training; benchmarks).",
                        no_args_is_help=True)
app.add_typer(slurm_app, name="slurm")
_SLURM_DEFAULTS = dict(partition="GPUQ", time="04:00:00", gpu_type="a100", cpus=16, memory="320G", nodes=1)


def _write_job(text: str, output: Optional[Path]) -> None:
    from .slurm import write_script

    job_name = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("#SBATCH --job-name="))
    out = write_script(text, output or Path(f"slurm_{job_name}.sh"))
    console.print(f"wrote {out}; submit with: mkdir -p logs && sbatch {out}", soft_wrap=True, markup=False)


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
                accelerate_config: Optional[Path] = typer.Option(None, "--accelerate-config", help="accelerate launch --config-file (default: configs/accelerate/zero3.yaml; configs/accelerate/ddp.yaml is plain data parallel)"),
                job_name: Optional[str] = None):
    """sbatch script: vf-vllm on the inference GPUs, health wait, accelerate ZeRO-3 on the rest, server always stopped."""
    from .slurm import render_train_script

    _write_job(render_train_script(config, account, gpus=gpus, inference_gpus=inference_gpus, partition=partition, time=time,
                                   gpu_type=gpu_type, cpus=cpus, memory=memory, nodes=nodes, work_dir=work_dir, model=model,
                                   port=port, group_port=group_port, health_timeout=health_timeout, job_name=job_name,
                                   accelerate_config=accelerate_config), output)


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
                  f"and {paths['submit']}", soft_wrap=True, markup=False)
    console.print(f"submit both with: bash {paths['submit']}   (from the directory that holds logs/)", soft_wrap=True, markup=False)


cache_app = typer.Typer(help="The cache ($RGV_CACHE_DIR, default ~/.cache/rg-verifiers): list it, prune GGUF exports.",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _when(epoch: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


@cache_app.command("list")
def cache_list():
    """Each cached item: kind, size, last used, path (and the checkpoint a GGUF export came from)."""
    from .cache import cached_items, human_size
    from .embedded import cache_root

    items = cached_items()
    if not items:
        console.print(f"the cache is empty ({cache_root()})", soft_wrap=True, markup=False, highlight=False)
        return
    console.print(f"{'kind':<10} {'size':>9}  {'last used':<16}  path", markup=False, highlight=False)
    for it in items:
        source = f"  (from {it.source})" if it.source else ""
        console.print(f"{it.kind:<10} {human_size(it.size):>9}  {_when(it.last_used):<16}  {it.path}{source}",
                      soft_wrap=True, markup=False, highlight=False)
    console.print(f"total {human_size(sum(it.size for it in items))} in {cache_root()}", soft_wrap=True, markup=False,
                  highlight=False)


@cache_app.command("prune")
def cache_prune(older_than: Optional[float] = typer.Option(None, "--older-than", metavar="DAYS", help="only GGUF exports unused for more than DAYS days"),
                keep: Optional[int] = typer.Option(None, "--keep", metavar="N", help="keep the N most recently used GGUF exports"),
                dry_run: bool = typer.Option(False, "--dry-run", help="say what would be removed, remove nothing"),
                include_model: bool = typer.Option(False, "--include-model", help="the embedded model's converted copy too (rebuilt on next use, about a minute)")):
    """Remove cached GGUF exports of checkpoints (all of them, or as --older-than / --keep say), with the space freed."""
    from .cache import cached_items, human_size, remove, select_prune

    doomed = select_prune(cached_items(), older_than, keep, include_model)
    verb = "would remove" if dry_run else "removed"
    for it in doomed:
        if not dry_run:
            remove(it)
        source = f" (from {it.source})" if it.source else ""
        console.print(f"{verb} {it.kind} {human_size(it.size)}, last used {_when(it.last_used)}: {it.path}{source}",
                      soft_wrap=True, markup=False, highlight=False)
    freed = human_size(sum(it.size for it in doomed))
    console.print(f"{'would free' if dry_run else 'freed'} {freed} ({len(doomed)} item(s))", soft_wrap=True,
                  markup=False, highlight=False)


def main() -> None:
    from .envfile import load_env_file
    from .errors import run_cli

    run_cli(load_env_file)  # before the command: WANDB_API_KEY, HF_TOKEN, OPENAI_API_KEY, RGV_DEBUG, ...
    run_cli(app)


if __name__ == "__main__":
    main()
