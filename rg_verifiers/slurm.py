"""Slurm batch scripts for GRPO training (vf-vllm + accelerate on one node) and benchmarks.

Everything a user can get wrong (time format, GPU split, a config without a servable model) is
checked here and reported as one `SlurmError` line, before anything reaches the queue: a typo
found by sbatch after hours in the queue is the expensive kind.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from pathlib import Path
from typing import Optional, Sequence, Union

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from rg_verifiers.errors import RGVError

TEMPLATES = Path(__file__).parent / "templates"
ACCELERATE_CONFIG = "configs/accelerate/zero3.yaml"
TRAIN_ENTRY = "train_minimal.py"

PathLike = Union[str, os.PathLike]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_PARTITION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+,-]*$")  # sbatch takes a comma list
_TIME_RE = re.compile(r"^(?:(\d+)-)?(\d+):([0-5]\d):([0-5]\d)$")
_MEM_RE = re.compile(r"^(\d+)([KMGT]?)$", re.IGNORECASE)


class SlurmError(RGVError):
    """Invalid Slurm script options; the message is one line."""


# ---------------------------------------------------------------------------------------------
# validation


def _int(name: str, value, minimum: int, maximum: Optional[int] = None) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise SlurmError(f"{name} must be an integer, got {value!r}") from None
    if v < minimum or (maximum is not None and v > maximum):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise SlurmError(f"{name} must be {bound}, got {v}")
    return v


def _name(what: str, value, pattern=_NAME_RE) -> str:
    # these go verbatim into #SBATCH lines, where shell quoting does not apply
    if not isinstance(value, str) or not pattern.match(value):
        raise SlurmError(f"{what} must be letters, digits, '_', '.', '-' (got {value!r})")
    return value


def validate_time(value: str) -> str:
    m = _TIME_RE.match(str(value).strip())
    if not m:
        raise SlurmError(f"time must be HH:MM:SS or D-HH:MM:SS, got {value!r}")
    days, hours, minutes, seconds = m.groups()
    if days is not None and int(hours) >= 24:
        raise SlurmError(f"time {value!r}: hours must be < 24 when days are given")
    if int(days or 0) + int(hours) + int(minutes) + int(seconds) == 0:
        raise SlurmError("time limit must be longer than 00:00:00")
    return str(value).strip()


def validate_memory(value: str) -> str:
    m = _MEM_RE.match(str(value).strip())
    if not m:
        raise SlurmError(f"memory must be a number with an optional K/M/G/T suffix (e.g. 320G), got {value!r}")
    return m.group(1) + m.group(2).upper()


def _gres(gpu_type: Optional[str], gpus: int) -> str:
    if not gpu_type:  # clusters with untyped GPU gres
        return f"gpu:{gpus}"
    return f"gpu:{_name('gpu_type', gpu_type)}:{gpus}"


def _sbatch_header(*, job_name, account, partition, time, gpu_type, gpus, cpus, memory, nodes) -> str:
    nodes = _int("nodes", nodes, 1)
    if nodes != 1:
        # both scripts talk to localhost and launch on the batch host only
        raise SlurmError(f"nodes must be 1: these scripts run on a single node (got {nodes})")
    lines = [
        f"--job-name={_name('job name', job_name)}",
        f"--account={_name('account', account)}",
        f"--partition={_name('partition', partition, _PARTITION_RE)}",
        f"--time={validate_time(time)}",
        f"--nodes={nodes}",
        "--ntasks-per-node=1",
        f"--gres={_gres(gpu_type, gpus)}",
        f"--cpus-per-task={_int('cpus', cpus, 1)}",
        f"--mem={validate_memory(memory)}",
        "--output=logs/%x-%j.out",
        "--error=logs/%x-%j.err",
    ]
    return "\n".join(f"#SBATCH {line}" for line in lines)


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        # bash's ${#array[@]} would open a default jinja comment
        comment_start_string="<#--",
        comment_end_string="--#>",
    )
    env.filters["q"] = lambda v: shlex.quote(str(v))
    return env


# ---------------------------------------------------------------------------------------------
# training config


def model_from_config(path: PathLike) -> str:
    """model.name_or_path after the project's own composition (`_base_`, defaults, validation)."""
    from .config import load_config

    return load_config(path).model.name_or_path


def _resolve_config(config_path: PathLike, work_dir: PathLike) -> tuple[str, Path]:
    """(path as written into the script, path readable here).

    The script cds into work_dir first, so a config relative to work_dir stays relative. One
    found only relative to the current directory becomes absolute when work_dir is another local
    folder; when work_dir does not exist here (generating for a remote cluster) the layout is
    assumed identical and the path stays as given.
    """
    p = Path(config_path)
    if p.is_absolute():
        if not p.is_file():
            raise SlurmError(f"config file not found: {p}")
        return str(p), p
    wd = Path(work_dir)
    if (wd / p).is_file():
        return str(p), wd / p
    if p.is_file():
        if wd.is_dir() and wd.resolve() != Path.cwd().resolve():
            return str(p.resolve()), p
        return str(p), p
    raise SlurmError(f"config file not found: {config_path} (looked in {wd} and the current directory)")


# ---------------------------------------------------------------------------------------------
# rendering


def render_train_script(
    config_path: PathLike,
    account: str,
    gpus: int = 4,
    inference_gpus: int = 2,
    partition: str = "GPUQ",
    time: str = "04:00:00",
    gpu_type: Optional[str] = "a100",
    cpus: int = 16,
    memory: str = "320G",
    nodes: int = 1,
    work_dir: PathLike = ".",
    model: Optional[str] = None,
    port: int = 8000,
    health_timeout: int = 900,
    job_name: Optional[str] = None,
    venv: PathLike = ".venv",
    accelerate_config: str = ACCELERATE_CONFIG,
    train_entry: str = TRAIN_ENTRY,
) -> str:
    """sbatch script: vf-vllm on the first `inference_gpus` GPUs, accelerate on the rest."""
    gpus = _int("gpus", gpus, 1)
    inference_gpus = _int("inference_gpus", inference_gpus, 1)
    if inference_gpus >= gpus:
        raise SlurmError(
            f"inference_gpus ({inference_gpus}) must be less than gpus ({gpus}): the trainer needs at least one GPU"
        )
    config_in_script, config_here = _resolve_config(config_path, work_dir)
    model = model or model_from_config(config_here)
    if any(c.isspace() for c in model):
        raise SlurmError(f"model must not contain whitespace, got {model!r}")
    if model.strip().lower() == "embedded":
        raise SlurmError(
            "model 'embedded' is the built-in CPU test model and cannot be served by vf-vllm; "
            "set model.name_or_path to a Hugging Face id or path, or pass --model"
        )
    if job_name is None:
        job_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(config_in_script).stem).strip("-.") or "rgv-train"
    header = _sbatch_header(
        job_name=job_name, account=account, partition=partition, time=time, gpu_type=gpu_type,
        gpus=gpus, cpus=cpus, memory=memory, nodes=nodes,
    )
    return _env().get_template("slurm_train.sh.j2").render(
        sbatch_header=header,
        work_dir=str(work_dir),
        venv=str(venv),
        config=config_in_script,
        model=model,
        port=_int("port", port, 1, 65535),
        gpus=gpus,
        inference_gpus=inference_gpus,
        train_gpus=gpus - inference_gpus,
        health_timeout=_int("health_timeout", health_timeout, 1),
        accelerate_config=accelerate_config,
        train_entry=train_entry,
    )


def _split_list(what: str, values: Union[str, Sequence[str]]) -> list[str]:
    """Accept ["a", "b"], ["a,b"] or "a,b"; rgv bench receives one comma-separated value."""
    if isinstance(values, str):
        values = [values]
    items = [v.strip() for value in values for v in str(value).split(",") if v.strip()]
    if not items:
        raise SlurmError(f"at least one {what} is required")
    return items


def render_bench_script(
    models: Sequence[str],
    tasks: Sequence[str],
    account: str,
    gpus: int = 8,
    n: int = 100,
    rollouts: int = 1,
    partition: str = "GPUQ",
    time: str = "04:00:00",
    gpu_type: Optional[str] = "a100",
    cpus: int = 16,
    memory: str = "320G",
    nodes: int = 1,
    work_dir: PathLike = ".",
    job_name: Optional[str] = None,
    venv: PathLike = ".venv",
    output_dir: str = "benchmark_results",
) -> str:
    """sbatch script running `rgv bench` for models x tasks on one node."""
    models = _split_list("model", models)
    tasks = _split_list("task", tasks)
    gpus = _int("gpus", gpus, 1)
    header = _sbatch_header(
        job_name=job_name or "rgv-bench", account=account, partition=partition, time=time,
        gpu_type=gpu_type, gpus=gpus, cpus=cpus, memory=memory, nodes=nodes,
    )
    return _env().get_template("slurm_bench.sh.j2").render(
        sbatch_header=header,
        work_dir=str(work_dir),
        venv=str(venv),
        models_csv=",".join(models),
        tasks_csv=",".join(tasks),
        n_models=len(models),
        n_tasks=len(tasks),
        n=_int("n", n, 1),
        rollouts=_int("rollouts", rollouts, 1),
        gpus=gpus,
        output_dir=output_dir,
    )


def write_script(text: str, output: PathLike) -> Path:
    """Write the script and make it executable (sbatch does not need +x, running it by hand does)."""
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return out
