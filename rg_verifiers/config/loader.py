"""Build an ExperimentConfig from YAML files and command-line overrides, and hand it to the trainers.

Composition (later wins):
  1. schema defaults (schema.py);
  2. a file's ``_base_`` (one path or a list, relative to that file, recursive), in list order;
  3. the file itself;
  4. overrides, in order: ``a.b=value`` (OmegaConf dotlist syntax, ``tasks[0].weight=2`` too) or a group
     shorthand ``model=NAME`` / ``tasks=NAME`` / ``experiment=NAME``, which merges
     ``configs/{models,tasks,experiments}/NAME.yaml`` (with its own ``_base_``) at that point.
Merging is OmegaConf's: mappings merge key by key, LISTS ARE REPLACED whole, so a file that sets
``tasks:`` or ``rewards:`` defines the full list instead of appending to its base's. A file reached twice
through ``_base_`` (a diamond) is merged once, at its first position, so it cannot undo later files.
In ``tasks`` and ``rewards`` a bare string is an entry's name: ``tasks=[leg_counting,chain_sum]``.
"""

import difflib
import math
import os
import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Iterable, get_args, get_origin, get_type_hints

from omegaconf import OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    InterpolationResolutionError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from .schema import ConfigError, ExperimentConfig, validate

BASE_KEY = "_base_"
GROUPS = {"model": "models", "tasks": "tasks", "experiment": "experiments"}
_PLAIN_KEY = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def load_config(
    path: str | os.PathLike | None,
    overrides: Iterable[str] = (),
    configs_dir: str | os.PathLike | None = None,
) -> ExperimentConfig:
    """Compose, type-check and validate a config; every failure is one ConfigError line.

    ``configs_dir`` (for group shorthands) defaults to the nearest ``configs`` folder above ``path``,
    then above the working directory, then the repository's own ``configs/``.
    """
    cdir = _find_configs_dir(path, configs_dir)
    merged = OmegaConf.structured(ExperimentConfig)
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"config file not found: {path}")
        merged = _merge_file(merged, file.resolve(), None, (), set())
    for item in overrides:
        merged = _apply_override(merged, item, cdir)
    return validate(_to_object(merged))


def config_to_yaml(cfg: ExperimentConfig) -> str:
    """The config as YAML with interpolations resolved, loadable again by load_config."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg), resolve=True)


def save_config(cfg: ExperimentConfig, output_dir: str | os.PathLike) -> Path:
    """Write the resolved config to ``<output_dir>/config.yaml`` so a run records exactly what it used."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "config.yaml"
    target.write_text(config_to_yaml(cfg))
    return target


def resolve_resume_checkpoint(cfg: ExperimentConfig) -> str | None:
    """Checkpoint path for ``trainer.train(resume_from_checkpoint=...)``.

    'latest' with no checkpoint yet gives None, so the same command both starts and resumes a job.
    """
    wanted = cfg.training.resume_from_checkpoint
    if wanted is None:
        return None
    if wanted == "latest":
        steps = {
            int(p.name.split("-", 1)[1]): p
            for p in Path(cfg.training.output_dir).glob("checkpoint-*")
            if p.is_dir() and p.name.split("-", 1)[1].isdigit()
        }
        return str(steps[max(steps)]) if steps else None
    if not Path(wanted).is_dir():
        raise ConfigError(f"training.resume_from_checkpoint: no checkpoint directory at {wanted}")
    return wanted


# ---------------------------------------------------------------- trainer mappings


def to_rl_config_kwargs(cfg: ExperimentConfig, num_processes: int | None = None) -> dict[str, Any]:
    """Keyword arguments for verifiers 0.1.9.post3 ``RLConfig`` (verifiers backend).

    RLConfig counts rollouts, not micro-steps: ``batch_size`` is every rollout of one optimizer step across
    all training processes, and it forces gradient_accumulation_steps=1. ``num_processes`` (training
    processes, default $WORLD_SIZE or 1) is therefore needed to keep our per-device semantics.
    Not mapped: beta (RLTrainer has no KL term), dtype/attn_implementation (see to_model_init_kwargs).
    RLConfig builds its LoraConfig without dropout; pass ``lora_config=peft.LoraConfig(**to_lora_config_kwargs(cfg))``
    to honour model.lora.dropout.
    """
    cfg = _resolved(cfg)
    t, lora, v = cfg.training, cfg.model.lora, cfg.vllm
    world = _world(num_processes)
    kwargs = dict(
        _common_trainer_kwargs(cfg, world),
        micro_batch_size=t.per_device_train_batch_size,
        batch_size=_rollouts_per_step(cfg, world),
        rollouts_per_example=t.num_generations,
        max_prompt_len=t.max_prompt_length,
        max_tokens=t.max_completion_length,
        max_seq_len=t.max_prompt_length + t.max_completion_length,
        vllm_server_host=v.host,
        vllm_server_port=v.port,
        vllm_server_timeout=v.server_timeout,
        generation_timeout=t.async_generation_timeout,
        max_concurrent=t.max_concurrent,
        gradient_checkpointing=t.gradient_checkpointing,
        # RLConfig defaults use_lora=True; ours is explicit so a full finetune stays one
        use_lora=lora.enabled,
    )
    if lora.enabled:
        kwargs.update(
            lora_rank=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            lora_target_modules=_target_modules(cfg),
        )
    return kwargs


def to_grpo_config_kwargs(cfg: ExperimentConfig, num_processes: int | None = None) -> dict[str, Any]:
    """Keyword arguments for TRL 1.16 ``GRPOConfig`` (trl backend).

    Not mapped: max_prompt_length (GRPOConfig has no such field in TRL 1.x; the dataset/env truncates),
    vllm_* and timeouts (the trl backend generates in-process), reward weights (they live in the env's
    rubric, which reaches TRL as one reward function).
    """
    cfg = _resolved(cfg)
    t = cfg.training
    world = _world(num_processes)
    _rollouts_per_step(cfg, world)
    kwargs = dict(
        _common_trainer_kwargs(cfg, world),
        per_device_train_batch_size=t.per_device_train_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        num_generations=t.num_generations,
        max_completion_length=t.max_completion_length,
        beta=t.beta,
        use_cpu=t.use_cpu,
    )
    # transformers 5 renamed the flag; the old name still works there but warns on every run
    kwargs[_checkpointing_arg()] = t.gradient_checkpointing
    return kwargs


def to_model_init_kwargs(cfg: ExperimentConfig) -> dict[str, Any]:
    """Keyword arguments for ``AutoModelForCausalLM.from_pretrained`` (or GRPOConfig.model_init_kwargs)."""
    kwargs: dict[str, Any] = {"dtype": cfg.model.dtype}
    if cfg.model.attn_implementation:
        kwargs["attn_implementation"] = cfg.model.attn_implementation
    return kwargs


def to_lora_config_kwargs(cfg: ExperimentConfig) -> dict[str, Any] | None:
    """Keyword arguments for ``peft.LoraConfig``; None when LoRA is off."""
    lora = cfg.model.lora
    if not lora.enabled:
        return None
    return dict(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=_target_modules(cfg),
        bias=lora.bias,
        task_type=lora.task_type,
    )


def tracker_env(cfg: ExperimentConfig) -> dict[str, str]:
    """Environment variables the chosen tracker reads (neither trainer takes a wandb project argument)."""
    lg = cfg.logging
    if not lg.enabled or lg.report_to != "wandb":
        return {}
    env = {"WANDB_MODE": lg.mode}
    if lg.project or lg.wandb_project:
        env["WANDB_PROJECT"] = lg.project or lg.wandb_project
    return env


def optimizer_steps(cfg: ExperimentConfig, num_processes: int | None = None) -> int:
    """training.max_steps, or the steps that cover training.num_train_epochs passes over the train split.

    Both backends count the same way: one step trains rollouts_per_step / num_generations prompts.
    """
    t = cfg.training
    if t.num_train_epochs is None:
        return t.max_steps
    prompts_per_step = _rollouts_per_step(cfg, _world(num_processes)) // t.num_generations
    return max(1, math.ceil(t.num_train_epochs * cfg.data.num_train_examples / prompts_per_step))


def _common_trainer_kwargs(cfg: ExperimentConfig, world: int) -> dict[str, Any]:
    # names shared by RLConfig and GRPOConfig (both are transformers.TrainingArguments)
    t = cfg.training
    return dict(
        output_dir=t.output_dir,
        run_name=cfg.logging.run_name,
        report_to=cfg.logging.report_to if cfg.logging.enabled else "none",
        seed=t.seed,
        max_steps=optimizer_steps(cfg, world),
        learning_rate=t.learning_rate,
        temperature=t.temperature,
        logging_steps=t.logging_steps,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        save_only_model=t.save_only_model,
        # training.eval_steps drives our FixedEvalCallback (same rows, parser and scorer as vf-eval) on both
        # backends; the Trainer's own eval loop needs an eval_dataset, which RLTrainer never passes
        eval_strategy="no",
        bf16=t.bf16,
    )


def _checkpointing_arg() -> str:
    from transformers import TrainingArguments

    names = {f.name for f in fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def _world(num_processes: int | None) -> int:
    n = int(os.environ.get("WORLD_SIZE", "1")) if num_processes is None else num_processes
    if n < 1:
        raise ConfigError(f"num_processes must be >= 1 (got {n})")
    return n


def _rollouts_per_step(cfg: ExperimentConfig, world: int) -> int:
    t = cfg.training
    total = t.per_device_train_batch_size * t.gradient_accumulation_steps * world
    if total % t.num_generations:
        raise ConfigError(
            f"rollouts per optimizer step = training.per_device_train_batch_size ({t.per_device_train_batch_size})"
            f" x training.gradient_accumulation_steps ({t.gradient_accumulation_steps}) x {world} process(es)"
            f" = {total}, which must be a multiple of training.num_generations ({t.num_generations})"
            " so every prompt's rollout group is trained in the same step"
        )
    return total


def _target_modules(cfg: ExperimentConfig) -> list[str] | str:
    modules = list(cfg.model.lora.target_modules)
    # peft only recognises its all-linear shortcut as a bare string
    return "all-linear" if modules == ["all-linear"] else modules


def _resolved(cfg: ExperimentConfig) -> ExperimentConfig:
    # a config built in Python (not via load_config) still carries "${...}" defaults such as output_dir
    return _to_object(OmegaConf.structured(cfg))


# ---------------------------------------------------------------- composition


def _find_configs_dir(path, configs_dir) -> Path | None:
    if configs_dir is not None:
        if not Path(configs_dir).is_dir():
            raise ConfigError(f"configs_dir is not a directory: {configs_dir}")
        return Path(configs_dir).resolve()
    starts = [Path(path).resolve().parent] if path is not None else []
    for start in starts + [Path.cwd()]:
        for p in (start, *start.parents):
            if p.name == "configs":
                return p
            if (p / "configs").is_dir():
                return p / "configs"
    repo = Path(__file__).resolve().parents[2] / "configs"
    return repo if repo.is_dir() else None


def _merge_file(acc, file: Path, referrer: Path | None, chain: tuple, seen: set):
    if file in chain:
        cycle = " -> ".join(_show(p) for p in (*chain[chain.index(file):], file))
        raise ConfigError(f"cyclic _base_: {cycle}")
    if file in seen:
        return acc
    if not file.is_file():
        raise ConfigError(f"_base_ file not found: {_show(file)} (referenced by {_show(referrer)})")
    raw = _read_yaml(file)
    bases = raw.pop(BASE_KEY, None) or []
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"{BASE_KEY} in {_show(file)} must be a path or a list of paths (got {bases!r})")
    for base in bases:
        acc = _merge_file(acc, (file.parent / base).resolve(), file, (*chain, file), seen)
    seen.add(file)
    return _merge_fragment(acc, raw, _show(file))


def _read_yaml(file: Path) -> dict:
    try:
        raw = OmegaConf.to_container(OmegaConf.load(file), resolve=False)
    except Exception as e:  # yaml's parser errors share no useful base class with OmegaConf's
        raise ConfigError(f"cannot parse {_show(file)}: {_one_line(e)}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{_show(file)} must contain a mapping at the top level")
    return raw


# keys of the seed frameworks' Hydra configs (../shared/seeds/) -> this project's, named in the error
SEED_KEYS = {
    "exp_name": "logging.run_name=NAME (the output dir is outputs/NAME unless training.output_dir is set)",
    "output_dir": "training.output_dir",
    "seed": "training.seed (data.seed for the generated questions)",
    "model.name": "model.name_or_path",
    "model.model_kwargs.torch_dtype": "model.dtype",
    "model.model_kwargs.load_in_8bit": "model.load_in_8bit",
    "model.model_kwargs.load_in_4bit": "model.load_in_4bit",
    "model.model_kwargs.attn_implementation": "model.attn_implementation",
    "model.generation_kwargs.max_new_tokens": "training.max_completion_length",
    "model.generation_kwargs.temperature": "training.temperature",
    "dataset": "tasks=NAME (a file in configs/tasks/) or tasks=[{name: ...}]",
    "dataset.name": "tasks=[{name: TASK}] (reasoning-gym tasks and the math datasets: README, 'Math datasets')",
    "dataset.max_train_samples": "data.num_train_examples",
    "dataset.max_eval_samples": "data.num_eval_examples",
    "dataset.system_prompt": "data.system_prompt",
    "dataset.train_split": "data.num_train_examples (train and eval rows are disjoint by construction)",
}


def _seed_key_hint(key: str) -> str | None:
    """One line naming this project's key for a seed framework's key (None: not a seed key)."""
    want = SEED_KEYS.get(key)
    return f"{key!r} is the seed framework's key; here it is {want}" if want else None


def _apply_override(acc, item: str, cdir: Path | None):
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {item!r} must look like key=value, e.g. training.max_steps=10")
    hint = _seed_key_hint(key) if key not in GROUPS else None
    if hint and OmegaConf.select(acc, key, default="__missing__") == "__missing__":
        raise ConfigError(f"unknown config key in override {item!r}: {hint}")
    value = _parse_value(item, text)
    if key in GROUPS and isinstance(value, str):
        return _merge_group(acc, key, value, cdir)
    source = f"override {item!r}"
    if _PLAIN_KEY.fullmatch(key):
        for part in reversed(key.split(".")):
            value = {part: value}
        return _merge_fragment(acc, value, source)
    try:  # indexed keys such as tasks[0].weight: OmegaConf walks the path and reports the full key
        OmegaConf.update(acc, key, value, merge=True)
    except OmegaConfBaseException as e:
        raise _from_omegaconf(e, source) from None
    return acc


def _parse_value(item: str, text: str) -> Any:
    # same YAML value grammar as OmegaConf's dotlist: 1e-5 is a float, [a, b] a list, null is None
    try:
        return OmegaConf.to_container(OmegaConf.from_dotlist([f"v={text}"]), resolve=False)["v"]
    except Exception as e:
        raise ConfigError(f"cannot parse the value of override {item!r}: {_one_line(e)}") from None


def _merge_group(acc, group: str, option: str, cdir: Path | None):
    if cdir is None:
        raise ConfigError(f"cannot resolve {group}={option}: no configs/ directory found; pass configs_dir")
    folder = cdir / GROUPS[group]
    name = option.removesuffix(".yaml")
    file = folder / f"{name}.yaml"
    if not file.is_file():
        available = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError(
            f"unknown {group} option {name!r}{_did_you_mean(name, available)} "
            f"available in {_show(folder)}: {', '.join(available) or '(none)'}"
            + (f" (a task without a file: tasks=[{name}])" if group == "tasks" else "")
        )
    # a fresh `seen`: an explicit override must apply even if the file was already a _base_
    return _merge_file(acc, file.resolve(), None, (), set())


def _merge_fragment(acc, raw: dict, source: str):
    _check_keys(raw, ExperimentConfig, "", source)
    try:
        return OmegaConf.merge(acc, raw)
    except OmegaConfBaseException as e:
        raise _from_omegaconf(e, source) from None


def _to_object(merged) -> ExperimentConfig:
    try:
        return OmegaConf.to_object(merged)
    except MissingMandatoryValue as e:
        raise ConfigError(f"missing required value for '{e.full_key}'") from None
    except InterpolationResolutionError as e:
        raise ConfigError(f"cannot resolve interpolation at '{e.full_key}': {_one_line(e)}") from None
    except OmegaConfBaseException as e:
        raise _from_omegaconf(e, "config") from None


# ---------------------------------------------------------------- checks and messages


def _check_keys(raw: dict, cls: type, prefix: str, source: str) -> None:
    """Reject unknown keys and mistyped values with their full path.

    OmegaConf would catch both, but inside list items (tasks[3]) it loses the path; checking each
    dataclass level here gives 'tasks[3].wieght' and the source file.
    """
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    leaves = {}
    for key, value in raw.items():
        if key not in names:
            raise ConfigError(_unknown_key_message(f"{prefix}{key}", names, prefix, source))
        hint = hints[key]
        item = _list_item_type(hint)
        if is_dataclass(hint) and value is None:
            raw[key] = value = {}  # a section whose keys are all commented out sets nothing
        if is_dataclass(hint) and isinstance(value, dict):
            _check_keys(value, hint, f"{prefix}{key}.", source)
        elif item is not None and isinstance(value, list):
            # shorthand: a bare string in tasks/rewards is that entry's name (tasks=[leg_counting,chain_sum])
            value[:] = [{"name": v} if isinstance(v, str) and _has_name(item) else v for v in value]
            for i, v in enumerate(value):
                if isinstance(v, dict):
                    _check_keys(v, item, f"{prefix}{key}[{i}].", source)
                else:
                    _raise_bad_type(f"{prefix}{key}[{i}]", f"a {item.__name__} mapping or a name", v, source)
        else:
            leaves[key] = value
    node = OmegaConf.structured(cls)
    for key, value in leaves.items():  # one key at a time: OmegaConf's merge errors may not name the key
        try:
            OmegaConf.merge(node, {key: value})
        except ValidationError:
            _raise_bad_type(f"{prefix}{key}", _type_name(hints[key]), value, source)


def _raise_bad_type(key: str, expected: str, value: Any, source: str):
    got = f"{value!r} ({type(value).__name__})"
    raise ConfigError(f"invalid value for '{key}': expected {expected}, got {got} in {source}")


def _has_name(cls: type) -> bool:
    return any(f.name == "name" for f in fields(cls))


def _list_item_type(hint) -> type | None:
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        return item if is_dataclass(item) else None
    return None


def _type_name(hint) -> str:
    item = _list_item_type(hint)
    if item is not None:
        return f"a list of {item.__name__} mappings"
    if is_dataclass(hint):
        return f"a {hint.__name__} mapping"
    if isinstance(hint, type) and not get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("NoneType", "None")


def _unknown_key_message(full_key: str, names: list[str], prefix: str, source: str) -> str:
    section = prefix.rstrip(".")
    leaf = full_key[len(prefix):]
    guesses = [prefix + n for n in difflib.get_close_matches(leaf, names, n=3, cutoff=0.6)]
    where = f"valid keys of '{section}'" if section else "valid top-level keys"
    return f"unknown config key '{full_key}'{_did_you_mean_keys(guesses)} {where}: {', '.join(names)} (in {source})"


def _did_you_mean_keys(guesses: list[str]) -> str:
    return f"; did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses else ";"


def _did_you_mean(word: str, options: list[str]) -> str:
    guesses = difflib.get_close_matches(word, options, n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses else ";"


def _from_omegaconf(e: OmegaConfBaseException, source: str) -> ConfigError:
    full_key = str(getattr(e, "full_key", "") or "")
    object_type = getattr(e, "object_type", None)
    if isinstance(e, (ConfigKeyError, ConfigAttributeError)) and is_dataclass(object_type):
        prefix = full_key[: len(full_key) - len(str(e.key))] if full_key.endswith(str(e.key)) else ""
        names = [f.name for f in fields(object_type)]
        return ConfigError(_unknown_key_message(full_key, names, prefix, source))
    message = getattr(e, "msg", None) or str(e)
    return ConfigError(f"invalid value for '{full_key}': {_one_line(message)} (in {source})")


def _one_line(e: object) -> str:
    return " ".join(str(e).split("\n")[0].split())


def _show(path: Path | None) -> str:
    if path is None:
        return "<command line>"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
