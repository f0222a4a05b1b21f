"""Render environments/ (one package per task, the math datasets and rg-composite) from templates/env."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jinja2

from . import __version__ as core_version
from . import serialization
from .data import TaskSpec, build_split
from .envargs import ENV_ARG_HELP, env_arg_defaults
from .references import reference_answer, reference_note
from .tasks import DATASET_TASKS, config_class, taskset_name, dataset_task_names, env_id_for, task_info, task_names

ENV_VERSION = "0.1.0"
COMPOSITE = "rg-composite"
SAMPLE_CHARS = 1500
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("rg_verifiers", "templates/env"),
    keep_trailing_newline=True, trim_blocks=False, undefined=jinja2.StrictUndefined,
)


def module_name(env_id: str) -> str:
    return env_id.replace("-", "_")


def _sample(task: str) -> dict | None:
    rows, _ = build_split([TaskSpec(task)], "eval", 1, seed=0)
    if not rows:
        return None
    entry = serialization.loads(rows[0]["info"]["entry"])
    question = rows[0]["question"]
    if len(question) > SAMPLE_CHARS:
        question = question[:SAMPLE_CHARS] + f"\n... ({len(rows[0]['question']) - SAMPLE_CHARS} more characters)"
    answer = reference_answer(task, entry)
    answer = "(none: scored by the task's verifier)" if answer is None else answer.replace("\n", " ⏎ ")
    if len(answer) > 300:
        answer = answer[:300] + " ..."
    return {"question": question.replace("```", "'''"), "answer": answer.replace("`", "'")}


def _package_tasks() -> list[str]:
    """Every task with a package: reasoning-gym's, then the math datasets."""
    return task_names() + dataset_task_names()


def _args_table() -> list[dict]:
    defaults = env_arg_defaults()
    return [{"name": k, "default": json.dumps(v), "help": ENV_ARG_HELP[k]} for k, v in defaults.items()]


def _rg_package(category: str) -> dict:
    return dict(keywords=f'"reasoning-gym", "single-turn", "{category}"', extra_dependencies=[], dataset_task=False)


# example `-a` arguments of the math-dataset packages
_DATASET_EXAMPLES = {
    "math": {"num_eval_examples": 50, "config": {"dataset": "openai/gsm8k", "dataset_config": "main", "split": "test"}},
    "gsm8k": {"num_eval_examples": 50, "config": {"split": "test"}},
    "deepscaler": {"num_eval_examples": 20, "config": {"dataset": "sample-deepscaler"}},
}


def _dataset_context(task: str) -> dict:
    """A math-dataset package. Its README shows a sample item only when the default dataset is shipped:
    rendering must not download."""
    from .math_env import SAMPLES

    info = task_info(task)
    env_id = env_id_for(task)
    cls = config_class(task)
    fields = [f for f in dataclasses.fields(cls) if f.name not in ("seed", "size")]
    defaults = {f.name: f.default for f in fields}
    dataset = defaults["dataset"]
    default_dataset = (f"`{dataset}` (shipped with rg-verifiers, no download)" if dataset in SAMPLES else
                       f"`{dataset}`" + (f", config `{defaults['dataset_config']}`" if defaults["dataset_config"] else ""))
    return dict(
        env_id=env_id, module=module_name(env_id), task=task, category=info.category, version=ENV_VERSION,
        core_version=core_version, config_class=cls.__name__, description=DATASET_TASKS[task].description,
        default_dataset=default_dataset, example_args=json.dumps(_DATASET_EXAMPLES[task]), args=_args_table(),
        config_fields=[{"name": f.name, "default": json.dumps(f.default), "help": f.metadata.get("help", "")} for f in fields],
        sample_names=", ".join(f"`{name}`" for name in SAMPLES), sample=_sample(task) if dataset in SAMPLES else None,
        keywords=f'"math", "single-turn", "{info.category}"', extra_dependencies=["math-verify>=0.8"], dataset_task=True,
    )


def _context(task: str | None) -> dict:
    if task is not None and task in DATASET_TASKS:
        return _dataset_context(task)
    if task is None:
        return dict(**_rg_package("mixture"),
            env_id=COMPOSITE, module=module_name(COMPOSITE), task=None, category="mixture", version=ENV_VERSION,
            core_version=core_version, n_tasks=len(task_names()),
            description="A weighted mixture of reasoning-gym tasks, each with its own config and difficulty, scored by each task's own verifier.",
            levels="per task", scoring="per task (risky scorers in sandboxed workers)", reference="per task",
            example_args=json.dumps({"tasks": [{"name": "leg_counting", "weight": 2, "config": {"max_animals": 5}}, {"name": "gcd", "weight": 1, "difficulty": 1}], "num_eval_examples": 60}),
            args=_args_table(), default_tasks='`["leg_counting", "basic_arithmetic", "chain_sum"]`', sample=None,
        )
    info = task_info(task)
    env_id = env_id_for(task)
    fields = [f for f in dataclasses.fields(config_class(task)) if f.name not in ("seed", "size")]
    config_fields = []
    for f in fields:
        default = f.default if f.default is not dataclasses.MISSING else (f.default_factory() if f.default_factory is not dataclasses.MISSING else "required")
        text = repr(default)
        config_fields.append({"name": f.name, "default": text if len(text) < 80 else text[:77] + "..."})
    example = {"num_eval_examples": 50}
    if info.difficulty_levels:
        example["difficulty"] = min(1, info.difficulty_levels - 1)
    return dict(
        **_rg_package(info.category),
        env_id=env_id, module=module_name(env_id), task=task, category=info.category, version=ENV_VERSION,
        core_version=core_version, config_class=config_class(task).__name__,
        description=f"reasoning-gym's `{task}` task ({info.category}) as a single-turn verifiers environment, scored by the task's own verifier.",
        levels=f"0..{info.difficulty_levels - 1}" if info.difficulty_levels else "none (no curriculum)",
        scoring="sandboxed worker process (time + memory limits)" if info.sandboxed else "in-process string/number comparison, guarded",
        reference=reference_note(task), example_args=json.dumps(example), args=_args_table(),
        config_fields=config_fields, sample=_sample(task),
    )


def render(task: str | None) -> dict[str, str]:
    """{relative path: content} for one environment package."""
    ctx = _context(task)
    ctx["taskset_name"] = taskset_name(task) if task else "CompositeTaskset"
    ctx["v1_example_flags"] = " ".join(
        f"--env.taskset.{k} " + (f"'{json.dumps(v)}'" if isinstance(v, (dict, list)) else json.dumps(v))
        for k, v in json.loads(ctx["example_args"]).items())
    folder = ctx["module"]
    return {
        f"{folder}/{folder}.py": _TEMPLATES.get_template("module.py.j2").render(**ctx),
        f"{folder}/pyproject.toml": _TEMPLATES.get_template("pyproject.toml.j2").render(**ctx),
        f"{folder}/README.md": _TEMPLATES.get_template("README_dataset.md.j2" if ctx["dataset_task"] else "README.md.j2").render(**ctx),
    }


def render_all(tasks: list[str] | None = None) -> dict[str, str]:
    files: dict[str, str] = {}
    for task in tasks or _package_tasks():
        files.update(render(task))
    files.update(render(None))
    return files


def write_all(root: Path, progress=None) -> list[str]:
    """Write every package; remove folders of tasks that no longer exist. Returns changed paths."""
    root.mkdir(parents=True, exist_ok=True)
    changed = []
    files = {}
    tasks = _package_tasks()
    for i, task in enumerate(tasks + [None]):
        files.update(render(task))
        if progress:
            progress(i + 1, len(tasks) + 1)
    for rel, content in files.items():
        path = root / rel
        if not path.exists() or path.read_text() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            changed.append(rel)
    wanted = {rel.split("/")[0] for rel in files}
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.startswith("rg_") and folder.name not in wanted:
            import shutil

            shutil.rmtree(folder)
            changed.append(folder.name + "/")
    return changed


def check(root: Path) -> list[str]:
    """Paths that differ from what `write_all` would write (empty = in sync)."""
    files = render_all()
    problems = [rel for rel, content in files.items() if not (root / rel).exists() or (root / rel).read_text() != content]
    wanted = {rel.split("/")[0] for rel in files}
    problems += [f.name + "/ (stale)" for f in root.iterdir() if f.is_dir() and f.name.startswith("rg_") and f.name not in wanted]
    return problems
