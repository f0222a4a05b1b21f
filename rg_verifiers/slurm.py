"""SLURM batch scripts for GRPO training (vf-vllm + accelerate, one or several nodes) and benchmarks.

Everything a user can get wrong (time format, GPU split, a config without a servable model, a batch
that does not divide into GRPO groups for the real number of trainer processes) is checked here and
reported as one `SlurmError` line, before anything reaches the queue: a typo found by sbatch or by the
trainer after hours in the queue is the expensive kind.

The vf-vllm command line comes from `rg_verifiers.train.launch.vf_vllm_args`, the one place the server
command is built, so the script starts the server the trainer expects (model, served name, ports).
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from pathlib import Path
from typing import Optional, Sequence, Union

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from rg_verifiers.errors import RGVError, did_you_mean
from rg_verifiers.train.launch import ACCELERATE_CONFIG, TRAIN_ENTRY

TEMPLATES = Path(__file__).parent / "templates"

PathLike = Union[str, os.PathLike]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_PARTITION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+,-]*$")  # sbatch takes a comma list
_TIME_RE = re.compile(r"^(?:(\d+)-)?(\d+):([0-5]\d):([0-5]\d)$")
_MEM_RE = re.compile(r"^(\d+)([KMGT]?)$", re.IGNORECASE)

# vf_vllm_args puts these where the host and port go; the template turns them into shell variables
_HOST_REF, _PORT_REF = "@@RGV_SERVER_HOST@@", "@@RGV_PORT@@"
_SHELL_REFS = {_HOST_REF: '"$SERVER_HOST"', _PORT_REF: '"$PORT"'}


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


def _sbatch_header(*, job_name, account, partition, time, gpu_type, gpus, cpus, memory, nodes,
                   array_size: int = 1) -> str:
    lines = [
        f"--job-name={_name('job name', job_name)}",
        f"--account={_name('account', account)}",
        f"--partition={_name('partition', partition, _PARTITION_RE)}",
        f"--time={validate_time(time)}",
        f"--nodes={nodes}",
        "--ntasks-per-node=1",
    ]
    if gpus:  # the merge step of a benchmark array needs no GPU
        lines.append(f"--gres={_gres(gpu_type, gpus)}")
    lines += [f"--cpus-per-task={_int('cpus', cpus, 1)}", f"--mem={validate_memory(memory)}"]
    if array_size > 1:
        # %A_%a: one log per array task; %j would give every task its own id, unrelated to the array's
        lines += [f"--array=0-{array_size - 1}", "--output=logs/%x-%A_%a.out", "--error=logs/%x-%A_%a.err"]
    else:
        lines += ["--output=logs/%x-%j.out", "--error=logs/%x-%j.err"]
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


def _shell_words(words: Sequence[str], indent: str = "    ", width: int = 100) -> str:
    """Quoted words, wrapped before an option once a line is long (each continuation ends in `\\`)."""
    lines, line = [], ""
    for w in words:
        word = _SHELL_REFS.get(w) or shlex.quote(str(w))
        if line and len(line) + len(word) > width and word.startswith("--"):
            lines.append(line)
            line = indent + word
        else:
            line = f"{line} {word}" if line else word
    return " \\\n".join(lines + [line])


# ---------------------------------------------------------------------------------------------
# training config


def model_from_config(path: PathLike) -> str:
    """model.name_or_path after the project's own composition (`_base_`, defaults, validation)."""
    from .config import load_config

    return load_config(path).model.name_or_path


def _resolve_config(config_path: PathLike, work_dir: PathLike, what: str = "config") -> tuple[str, Path]:
    """(path as written into the script, path readable here).

    The script cds into work_dir first, so a config relative to work_dir stays relative. One
    found only relative to the current directory becomes absolute when work_dir is another local
    folder; when work_dir does not exist here (generating for a remote cluster) the layout is
    assumed identical and the path stays as given.
    """
    p = Path(config_path)
    if p.is_absolute():
        if not p.is_file():
            raise SlurmError(f"{what} file not found: {p}")
        return str(p), p
    wd = Path(work_dir)
    if (wd / p).is_file():
        return str(p), wd / p
    if p.is_file():
        if wd.is_dir() and wd.resolve() != Path.cwd().resolve():
            return str(p.resolve()), p
        return str(p), p
    siblings = {str(p.parent / s.name) for folder in (wd / p.parent, p.parent) if folder.is_dir()
                for s in folder.glob("*.y*ml")}
    raise SlurmError(f"{what} file not found: {config_path} (looked in {wd} and the current directory)"
                     f"{did_you_mean(str(config_path), sorted(siblings))}")


def _check_model(model: str) -> None:
    from .embedded import is_embedded

    if not model or any(c.isspace() for c in model):
        raise SlurmError(f"model must be a non-empty name without whitespace, got {model!r}")
    if model.strip().lower() == "embedded" or is_embedded(model):
        raise SlurmError(
            f"model {model!r} is the built-in CPU test model ('embedded') and cannot be served by vf-vllm on the "
            "cluster; set model.name_or_path to a Hugging Face id or path, or pass --model"
        )


def _check_multinode_launcher(accelerate_config: str, work_dir: PathLike) -> None:
    """accelerate's default DeepSpeed multi-node launcher is pdsh (ssh into every node); inside a
    SLURM step each node must start its own ranks, which is the 'standard' (torchrun) launcher."""
    path = Path(accelerate_config)
    path = path if path.is_absolute() else Path(work_dir) / path
    if not path.is_file():  # generating for another machine: nothing to read here
        return
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        raise SlurmError(f"cannot read the accelerate config {accelerate_config}") from None
    ds = doc.get("deepspeed_config") or {}
    if doc.get("distributed_type") == "DEEPSPEED" and ds.get("deepspeed_multinode_launcher", "pdsh") != "standard":
        raise SlurmError(f"{accelerate_config}: multi-node jobs need deepspeed_config.deepspeed_multinode_launcher: "
                         f"standard (got {ds.get('deepspeed_multinode_launcher', 'pdsh (the default)')!r}), "
                         "since each node starts its own ranks under srun")


# ---------------------------------------------------------------------------------------------
# rendering


def render_train_script(
    config_path: PathLike,
    account: str,
    gpus: int = 4,
    inference_gpus: Optional[int] = None,
    partition: str = "GPUQ",
    time: str = "04:00:00",
    gpu_type: Optional[str] = "a100",
    cpus: int = 16,
    memory: str = "320G",
    nodes: int = 1,
    work_dir: PathLike = ".",
    model: Optional[str] = None,
    port: Optional[int] = None,
    group_port: Optional[int] = None,
    health_timeout: int = 900,
    job_name: Optional[str] = None,
    venv: PathLike = ".venv",
    accelerate_config: Optional[PathLike] = None,
    train_entry: str = TRAIN_ENTRY,
) -> str:
    """sbatch script: vf-vllm + accelerate ZeRO-3 on one node, or vf-vllm on node 0 and trainers on the others.

    `gpus` is per node. One node: vf-vllm on the first `inference_gpus` (default 2), the trainer on the
    rest. Several nodes: node 0 serves with all its GPUs (`inference_gpus` must equal `gpus`, its default
    there) and nodes 1..N-1 train, `gpus` ranks each. `port`/`group_port` pin the server's HTTP and
    weight-sync ports; unpinned ones are chosen free on the server node when the job starts.
    `accelerate_config` (`accelerate launch --config-file`) must exist, like the config; None is the
    project's configs/accelerate/zero3.yaml, taken as shipped with the checkout on the cluster.
    """
    nodes = _int("nodes", nodes, 1)
    gpus = _int("gpus", gpus, 1)
    if inference_gpus is None:
        inference_gpus = gpus if nodes > 1 else 2
    inference_gpus = _int("inference_gpus", inference_gpus, 1)
    if nodes == 1:
        if inference_gpus >= gpus:
            raise SlurmError(
                f"inference_gpus ({inference_gpus}) must be less than gpus ({gpus}): the trainer needs at least one GPU"
            )
        train_nodes, ranks_per_node = 1, gpus - inference_gpus
        layout = f"{ranks_per_node} trainer process(es) ({gpus} GPUs, {inference_gpus} for vf-vllm)"
    else:
        if inference_gpus != gpus:
            # accelerate launch gives every machine num_processes // num_machines ranks (prepare_multi_gpu_env,
            # prepare_deepspeed_cmd_env), so node 0 cannot train on fewer GPUs than the others
            raise SlurmError(
                f"with nodes={nodes} the first node only serves vf-vllm, so inference_gpus must equal gpus ({gpus}), "
                f"got {inference_gpus}: accelerate launch starts the same number of ranks on every machine, so node 0 "
                f"cannot train on its other {gpus - inference_gpus} GPU(s)"
            )
        train_nodes, ranks_per_node = nodes - 1, gpus
        layout = f"{train_nodes * gpus} trainer process(es) ({train_nodes} node(s) x {gpus} GPUs; node 0 serves vf-vllm)"
    world = train_nodes * ranks_per_node
    if port is not None:
        port = _int("port", port, 1, 65535)
    if group_port is not None:
        group_port = _int("group_port", group_port, 1, 65535)
    if port is not None and port == group_port:
        raise SlurmError(f"port and group_port must differ (both {port}): one is vf-vllm's HTTP server, "
                         "the other the weight-sync process group")
    health_timeout = _int("health_timeout", health_timeout, 1)
    if model is not None:
        _check_model(model)

    config_in_script, config_here = _resolve_config(config_path, work_dir)
    if accelerate_config is None:
        accelerate_config = ACCELERATE_CONFIG
    else:
        accelerate_config = _resolve_config(accelerate_config, work_dir, what="accelerate config")[0]
    overrides = [f"model.name_or_path={model}"] if model is not None else []
    try:
        from .config import load_config
        from .config.loader import to_rl_config_kwargs
        from .train.launch import vf_vllm_args

        cfg = load_config(config_here, overrides)
        _check_model(cfg.model.name_or_path)
        if cfg.training.backend == "trl":
            raise SlurmError("training.backend is 'trl', which generates in-process and never talks to vf-vllm: "
                             "set training.backend to verifiers (or auto) for a SLURM GPU job")
        try:
            to_rl_config_kwargs(cfg, num_processes=world)
        except RGVError as exc:
            raise SlurmError(f"{layout}: {exc}") from None
        bind = "0.0.0.0" if nodes > 1 else cfg.vllm.host  # other nodes must reach the server
        server_words = vf_vllm_args(cfg, inference_gpus, host=_HOST_REF, port=_PORT_REF)
        from .train.launch import prepare_args

        prepare_words = prepare_args(cfg, config_in_script, overrides)
    except SlurmError:
        raise
    except RGVError as exc:  # config and launch errors: one line here too (generate_slurm.py prints only these)
        raise SlurmError(str(exc)) from None
    if nodes > 1:
        _check_multinode_launcher(accelerate_config, work_dir)

    trainer_overrides = ['"vllm.host=$VLLM_HOST"', '"vllm.port=$PORT"', '"vllm.group_port=$GROUP_PORT"']
    trainer_overrides += [shlex.quote(o) for o in overrides]
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
        model=cfg.model.name_or_path,
        multi_node=nodes > 1,
        nodes=nodes,
        train_nodes=train_nodes,
        gpus=gpus,
        inference_gpus=inference_gpus,
        ranks_per_node=ranks_per_node,
        world=world,
        pinned_port=port or "",
        pinned_group_port=group_port or "",
        server_bind=bind,
        health_host="localhost" if bind in ("0.0.0.0", "::", "") else bind,
        vllm_host=cfg.vllm.host,
        server_command=_shell_words(server_words),
        prepare_command=_shell_words(prepare_words) if prepare_words else "",
        trainer_overrides=" ".join(trainer_overrides),
        gres=_gres(gpu_type, gpus),
        health_timeout=health_timeout,
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
    array_size: int = 1,
) -> str:
    """sbatch script running `rgv bench` for models x tasks on one node; with `array_size` K > 1 a job
    array whose task I runs `rgv bench --shard I/K` into the same `output_dir` (see `write_bench_array`)."""
    models = _split_list("model", models)
    tasks = _split_list("task", tasks)
    gpus = _int("gpus", gpus, 1)
    if _int("nodes", nodes, 1) != 1:
        raise SlurmError(f"nodes must be 1 for a benchmark job (got {nodes}): spread a benchmark over nodes with "
                         "--array-size K, one node per shard")
    array_size = _check_array_size(array_size, models, tasks)
    header = _sbatch_header(
        job_name=job_name or "rgv-bench", account=account, partition=partition, time=time,
        gpu_type=gpu_type, gpus=gpus, cpus=cpus, memory=memory, nodes=1, array_size=array_size,
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
        array_size=array_size,
    )


def _check_array_size(array_size, models: Sequence[str], tasks: Sequence[str]) -> int:
    array_size = _int("array_size", array_size, 1)
    pairs = len(models) * len(tasks)
    if array_size > pairs:
        raise SlurmError(f"array_size ({array_size}) is more than the {pairs} (model, task) pairs "
                         f"({len(models)} model(s) x {len(tasks)} task(s)): a shard would have nothing to do")
    return array_size


def render_bench_merge_script(
    account: str,
    partition: str = "GPUQ",
    time: str = "01:00:00",
    cpus: int = 2,
    memory: str = "16G",
    work_dir: PathLike = ".",
    job_name: str = "rgv-bench-merge",
    venv: PathLike = ".venv",
    output_dir: str = "benchmark_results",
    array_size: int = 2,
) -> str:
    """sbatch script (no GPU) tabling and charting every shard's results once the array is done."""
    header = _sbatch_header(
        job_name=job_name, account=account, partition=partition, time=time, gpu_type=None, gpus=0,
        cpus=cpus, memory=memory, nodes=1,
    )
    return _env().get_template("slurm_bench_merge.sh.j2").render(
        sbatch_header=header, work_dir=str(work_dir), venv=str(venv), output_dir=output_dir,
        array_size=array_size,
    )


def render_bench_submit_script(array_script: str, merge_script: str, array_size: int) -> str:
    """A wrapper submitting the array, then the merge with `--dependency=afterok:<array job id>`."""
    return _env().get_template("slurm_bench_submit.sh.j2").render(
        array_script=Path(array_script).name, merge_script=Path(merge_script).name, array_size=array_size,
    )


def bench_array_paths(output: PathLike) -> dict[str, Path]:
    """Where `write_bench_array` puts its three scripts, next to each other."""
    out = Path(output)
    suffix = out.suffix or ".sh"
    return {"array": out.with_suffix(suffix), "merge": out.with_name(f"{out.stem}_merge{suffix}"),
            "submit": out.with_name(f"{out.stem}_submit{suffix}")}


def write_bench_array(output: PathLike, models: Sequence[str], tasks: Sequence[str], account: str,
                      array_size: int, merge_partition: Optional[str] = None, **kw) -> dict[str, Path]:
    """Write the array script at `output`, plus `<stem>_merge.sh` and `<stem>_submit.sh` beside it.

    `kw` are render_bench_script's options. The merge job charges the same account and, unless
    `merge_partition` is given, runs in the same partition, without GPUs.
    """
    paths = bench_array_paths(output)
    array_text = render_bench_script(models, tasks, account, array_size=array_size, **kw)
    array_size = _check_array_size(array_size, _split_list("model", models), _split_list("task", tasks))
    if array_size < 2:
        raise SlurmError("array_size must be >= 2 for a job array; without --array-size one job runs every pair")
    job_name = kw.get("job_name") or "rgv-bench"
    merge_text = render_bench_merge_script(
        account, partition=merge_partition or kw.get("partition", "GPUQ"), work_dir=kw.get("work_dir", "."),
        job_name=f"{job_name}-merge", venv=kw.get("venv", ".venv"),
        output_dir=kw.get("output_dir", "benchmark_results"), array_size=array_size,
    )
    submit_text = render_bench_submit_script(str(paths["array"]), str(paths["merge"]), array_size)
    for key, text in (("array", array_text), ("merge", merge_text), ("submit", submit_text)):
        write_script(text, paths[key])
    return paths


def write_script(text: str, output: PathLike) -> Path:
    """Write the script and make it executable (sbatch does not need +x, running it by hand does)."""
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return out
