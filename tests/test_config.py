"""Config system: composition, error messages, shipped configs, and the mappings onto both trainers."""

import ast
import dataclasses
import re
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from rg_verifiers.errors import RGVError
from rg_verifiers.config import (
    ConfigError,
    ExperimentConfig,
    TaskSpec,
    config_to_yaml,
    load_config,
    resolve_resume_checkpoint,
    save_config,
    to_grpo_config_kwargs,
    to_lora_config_kwargs,
    to_model_init_kwargs,
    to_rl_config_kwargs,
    tracker_env,
)

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
EXPERIMENTS = sorted((CONFIGS / "experiments").glob("*.yaml"))
MODELS = sorted((CONFIGS / "models").glob("*.yaml"))
TASK_FILES = sorted((CONFIGS / "tasks").glob("*.yaml"))
CPU_EXP = CONFIGS / "experiments" / "leg_counting_embedded_cpu.yaml"
GPU_EXP = CONFIGS / "experiments" / "leg_counting_qwen1.5b.yaml"


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def layered(tmp_path):
    """A configs/ tree where every layer sets the keys of the layers below it."""
    root = tmp_path / "configs"
    write(root, "base.yaml", """
        tasks: [{name: base_task}]
        training: {max_steps: 1, save_steps: 1, logging_steps: 1, seed: 1}
        model: {lora: {enabled: true, r: 8, target_modules: [a, b, c]}}
    """)
    write(root, "models/m.yaml", """
        model: {name_or_path: org/m, lora: {alpha: 64}}
        training: {max_steps: 2, save_steps: 2, logging_steps: 2}
    """)
    write(root, "models/m2.yaml", "model: {name_or_path: org/m2}\n")
    write(root, "tasks/t.yaml", """
        tasks:
          - {name: leg_counting, weight: 2.0, config: {min_animals: 2, max_animals: 4}, difficulty: 1}
        training: {max_steps: 3, save_steps: 3}
    """)
    write(root, "tasks/t2.yaml", "tasks: [{name: chain_sum}]\n")
    exp = write(root, "experiments/e.yaml", """
        _base_: [../base.yaml, ../models/m.yaml, ../tasks/t.yaml]
        training: {max_steps: 4}
        model: {lora: {target_modules: [q_proj]}}
    """)
    return root, exp


# ---------------------------------------------------------------- composition


def test_composition_order_base_model_task_experiment_cli(layered):
    _, exp = layered
    cfg = load_config(exp)
    t = cfg.training
    assert (t.seed, t.logging_steps, t.save_steps, t.max_steps) == (1, 2, 3, 4)
    cfg = load_config(exp, ["training.max_steps=99", "training.seed=7"])
    assert (cfg.training.max_steps, cfg.training.seed, cfg.training.save_steps) == (99, 7, 3)


def test_later_overrides_win(layered):
    _, exp = layered
    cfg = load_config(exp, ["training.max_steps=5", "training.max_steps=6"])
    assert cfg.training.max_steps == 6


def test_nested_mappings_merge_deeply(layered):
    _, exp = layered
    lora = load_config(exp).model.lora
    # enabled and r from base, alpha from the model file, nothing reset by the experiment's lora block
    assert (lora.enabled, lora.r, lora.alpha) == (True, 8, 64)
    cfg = load_config(exp, ["tasks[0].config.max_animals=9"])
    assert cfg.tasks[0].config == {"min_animals": 2, "max_animals": 9}


def test_lists_are_replaced_not_concatenated(layered):
    _, exp = layered
    cfg = load_config(exp)
    assert [t.name for t in cfg.tasks] == ["leg_counting"]
    assert cfg.model.lora.target_modules == ["q_proj"]
    cfg = load_config(exp, ["rewards=[{name: a, weight: 2}, {name: b}]", "model.lora.target_modules=[x]"])
    assert [(r.name, r.weight) for r in cfg.rewards] == [("a", 2.0), ("b", 1.0)]
    assert cfg.model.lora.target_modules == ["x"]


def test_list_items_get_schema_defaults_and_name_shorthand(layered):
    _, exp = layered
    cfg = load_config(exp, ["tasks=[leg_counting, {name: chain_sum, weight: 3}]"])
    assert cfg.tasks == [TaskSpec("leg_counting"), TaskSpec("chain_sum", weight=3.0)]


def test_group_shorthand_merges_group_file_after_experiment(layered):
    root, exp = layered
    cfg = load_config(exp, ["model=m2", "tasks=t2"])
    assert cfg.model.name_or_path == "org/m2"
    assert cfg.model.lora.alpha == 64  # m2 sets only the name; the rest stays from the experiment
    assert [t.name for t in cfg.tasks] == ["chain_sum"]
    # configs dir found by walking up from the config file; explicit configs_dir works without a file
    cfg = load_config(None, ["experiment=e", "model=m2.yaml"], configs_dir=root)
    assert (cfg.model.name_or_path, cfg.training.max_steps) == ("org/m2", 4)


def test_group_shorthand_on_real_configs():
    cfg = load_config(None, ["experiment=leg_counting_embedded_cpu", "model=qwen2.5-7b", "tasks=arithmetic_mix"])
    assert cfg.model.name_or_path == "Qwen/Qwen2.5-7B-Instruct"
    assert [t.name for t in cfg.tasks] == ["basic_arithmetic", "chain_sum", "products"]
    assert cfg.training.backend == "trl"  # the experiment's training settings survive


def test_base_as_string_relative_to_referencing_file_and_interpolation(tmp_path):
    write(tmp_path, "a/base.yaml", "tasks: [x]\nlogging: {run_name: from_base}\n")
    child = write(tmp_path, "b/c/child.yaml", "_base_: ../../a/base.yaml\ntraining: {max_steps: 3}\n")
    cfg = load_config(child, configs_dir=tmp_path)
    assert (cfg.tasks[0].name, cfg.training.max_steps) == ("x", 3)
    assert cfg.training.output_dir == "outputs/from_base"
    assert load_config(child, ["logging.run_name=r2"], configs_dir=tmp_path).training.output_dir == "outputs/r2"


def test_diamond_base_is_merged_once(tmp_path):
    write(tmp_path, "base.yaml", "tasks: [x]\ntraining: {max_steps: 1}\n")
    write(tmp_path, "b.yaml", "_base_: base.yaml\ntraining: {max_steps: 2}\n")
    write(tmp_path, "c.yaml", "_base_: base.yaml\ntraining: {seed: 5}\n")
    top = write(tmp_path, "top.yaml", "_base_: [b.yaml, c.yaml]\n")
    cfg = load_config(top, configs_dir=tmp_path)
    assert (cfg.training.max_steps, cfg.training.seed) == (2, 5)


# ---------------------------------------------------------------- errors


def one_line_error(*args, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert isinstance(info.value, ValueError)
    return message


def test_missing_base_names_path_and_referrer(tmp_path):
    exp = write(tmp_path, "exp.yaml", "_base_: [nope/missing.yaml]\n")
    message = one_line_error(exp, configs_dir=tmp_path)
    assert message.startswith("_base_ file not found:")
    assert str(Path("nope", "missing.yaml")) in message
    assert "referenced by" in message and "exp.yaml" in message


def test_missing_config_file(tmp_path):
    assert "config file not found" in one_line_error(tmp_path / "absent.yaml", configs_dir=tmp_path)


def test_cyclic_base_shows_chain(tmp_path):
    write(tmp_path, "a.yaml", "_base_: b.yaml\n")
    write(tmp_path, "b.yaml", "_base_: c.yaml\n")
    write(tmp_path, "c.yaml", "_base_: a.yaml\n")
    message = one_line_error(tmp_path / "a.yaml", configs_dir=tmp_path)
    assert message.startswith("cyclic _base_:")
    assert "a.yaml -> " in message and "b.yaml -> " in message and "c.yaml -> " in message
    assert message.rstrip().endswith("a.yaml")


def test_unknown_key_in_file_suggests_close_match(tmp_path):
    exp = write(tmp_path, "exp.yaml", "tasks: [x]\ntraining: {learnin_rate: 0.1}\n")
    message = one_line_error(exp, configs_dir=tmp_path)
    assert message.startswith(
        "unknown config key 'training.learnin_rate'; did you mean 'training.learning_rate'?"
    )
    assert "valid keys of 'training':" in message and "max_steps" in message
    assert "exp.yaml" in message


def test_unknown_key_in_override_and_inside_list_items(tmp_path):
    exp = write(tmp_path, "exp.yaml", "tasks: [x]\n")
    message = one_line_error(exp, ["trainng.max_steps=3"], configs_dir=tmp_path)
    assert message.startswith("unknown config key 'trainng'; did you mean 'training'?")
    assert "valid top-level keys: model, tasks, data, rewards, warmup, training, vllm, logging" in message
    for override in ("tasks=[{name: a, wieght: 2}]", "tasks[0].wieght=2"):
        message = one_line_error(exp, [override], configs_dir=tmp_path)
        assert message.startswith("unknown config key 'tasks[0].wieght'; did you mean 'tasks[0].weight'?"), message


def test_wrong_type_names_key_expected_type_and_value(tmp_path):
    exp = write(tmp_path, "exp.yaml", "tasks: [x]\n")
    message = one_line_error(exp, ["training.learning_rate=fast"], configs_dir=tmp_path)
    assert message.startswith("invalid value for 'training.learning_rate': expected float, got 'fast'")
    message = one_line_error(exp, ["training.max_steps=1.5"], configs_dir=tmp_path)
    assert "'training.max_steps': expected int, got 1.5" in message
    bad = write(tmp_path, "bad.yaml", "tasks: [{name: x, weight: heavy}]\n")
    assert "'tasks[0].weight': expected float, got 'heavy'" in one_line_error(bad, configs_dir=tmp_path)
    message = one_line_error(exp, ["model.lora=5"], configs_dir=tmp_path)
    assert "'model.lora': expected a LoraSettings mapping, got 5" in message


def test_unknown_group_option_lists_available():
    message = one_line_error(None, ["model=qwen3"])
    assert message.startswith("unknown model option 'qwen3'")
    for name in ("embedded", "qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-1.5b-lora", "qwen2.5-7b"):
        assert name in message
    message = one_line_error(None, ["tasks=leg_countin"])
    assert "did you mean 'leg_counting'?" in message and "arithmetic_mix" in message


def test_malformed_override_and_yaml(tmp_path):
    assert "must look like key=value" in one_line_error(None, ["training.max_steps"], configs_dir=tmp_path)
    broken = write(tmp_path, "broken.yaml", "training: {max_steps: [1\n")
    assert one_line_error(broken, configs_dir=tmp_path).startswith("cannot parse")


def test_validation_reports_all_problems_on_one_line(tmp_path):
    message = one_line_error(None, configs_dir=tmp_path)  # schema defaults have no tasks
    assert "tasks needs at least one task" in message
    exp = write(tmp_path, "exp.yaml", "tasks: [{name: x, weight: 0}, {name: x}]\n")
    message = one_line_error(
        exp,
        [
            "training.num_generations=1",
            "training.backend=gpu",
            "model.dtype=fp8",
            "logging.report_to=mlflow",
            "rewards[0].weight=-1",
            "training.learning_rate=0",
            "training.eval_steps=10",
            "data.num_eval_examples=0",
        ],
        configs_dir=tmp_path,
    )
    for expected in (
        "tasks[0].weight must be > 0",
        "tasks[1].name duplicates an earlier task",
        "training.num_generations must be >= 2",
        "training.backend must be one of auto, verifiers, trl (got 'gpu')",
        "model.dtype must be one of",
        "logging.report_to must be one of none, tensorboard, wandb",
        "rewards[0].weight must be > 0",
        "training.learning_rate must be > 0",
        "data.num_eval_examples must be > 0 when training.eval_steps is set",
    ):
        assert expected in message, expected


def test_empty_section_sets_nothing(tmp_path):
    exp = write(tmp_path, "exp.yaml", "tasks: [x]\ntraining:\n  # max_steps: 3\n")
    assert load_config(exp, configs_dir=tmp_path).training.max_steps == 200


def test_required_task_name(tmp_path):
    exp = write(tmp_path, "exp.yaml", "tasks: [{weight: 2}]\n")
    assert "missing required value for 'tasks[0].name'" in one_line_error(exp, configs_dir=tmp_path)


# ---------------------------------------------------------------- shipped configs


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_shipped_experiment_loads_and_validates(path):
    cfg = load_config(path)
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.validate() is cfg
    assert "${" not in cfg.training.output_dir
    assert cfg.logging.report_to == "none"  # shipped configs must run offline


def test_shipped_experiment_settings():
    cpu = load_config(CPU_EXP)
    assert (cpu.model.name_or_path, cpu.training.backend, cpu.training.use_cpu, cpu.training.bf16) == (
        "embedded", "trl", True, False)
    assert cpu.training.max_steps <= 10 and cpu.training.max_completion_length <= 64
    gpu = load_config(GPU_EXP)
    assert (gpu.model.name_or_path, gpu.training.backend) == ("Qwen/Qwen2.5-1.5B-Instruct", "verifiers")
    assert [t.name for t in cpu.tasks] == [t.name for t in gpu.tasks] == ["leg_counting"]


@pytest.mark.parametrize("path", MODELS + TASK_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_group_file_composes_with_base(path):
    group = {"models": "model", "tasks": "tasks"}[path.parent.name]
    cfg = load_config(CONFIGS / "base.yaml", ["tasks=leg_counting", f"{group}={path.stem}"])
    if group == "model":
        size = path.stem.split("-")[1].upper() if path.stem.startswith("qwen") else ""
        assert cfg.model.name_or_path == (f"Qwen/Qwen2.5-{size}-Instruct" if size else "embedded")
        assert cfg.model.lora.enabled == path.stem.endswith("-lora")


def test_shipped_tasks_are_real_reasoning_gym_configs():
    from reasoning_gym.factory import DATASETS, create_curriculum

    for path in TASK_FILES:
        for task in load_config(None, [f"tasks={path.stem}"]).tasks:
            assert task.name in DATASETS, (path.name, task.name)
            config_cls = DATASETS[task.name][1]
            values = {}
            if task.difficulty is not None:
                curriculum = create_curriculum(task.name)
                curriculum.set_global_level(task.difficulty)
                values = dataclasses.asdict(curriculum.generate_configuration({"seed": 0, "size": 1}))
            config = config_cls(**{**values, **task.config, "seed": 0, "size": 1})
            config.validate()


def test_save_config_round_trip(tmp_path):
    cfg = load_config(GPU_EXP, ["tasks=arithmetic_mix"])
    path = save_config(cfg, tmp_path / "run")
    assert path == tmp_path / "run" / "config.yaml"
    assert load_config(path) == cfg
    assert yaml.safe_load(path.read_text())["training"]["output_dir"] == "outputs/leg_counting_qwen1.5b"


def test_python_built_config_resolves_interpolated_defaults(tmp_path):
    cfg = ExperimentConfig(tasks=[TaskSpec("leg_counting")])
    assert "${" in cfg.training.output_dir  # the schema default follows logging.run_name
    assert "output_dir: outputs/rgv-grpo" in config_to_yaml(cfg)
    assert to_grpo_config_kwargs(cfg)["output_dir"] == "outputs/rgv-grpo"
    assert load_config(save_config(cfg, tmp_path)).training.output_dir == "outputs/rgv-grpo"


def test_accelerate_configs_are_valid():
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.commands.launch import launch_command_parser

    launch_args = {action.dest for action in launch_command_parser()._actions}
    zero3 = ClusterConfig.from_yaml_file(str(CONFIGS / "accelerate" / "zero3.yaml"))  # rejects unknown keys
    assert zero3.distributed_type == "DEEPSPEED" and zero3.mixed_precision == "bf16"
    ds = zero3.deepspeed_config
    assert (ds["zero_stage"], ds["zero3_init_flag"], ds["offload_param_device"], ds["offload_optimizer_device"]) == (
        3, True, "none", "none")
    assert set(ds) <= launch_args  # accelerate launch maps each deepspeed_config key to its own argument
    ddp = ClusterConfig.from_yaml_file(str(CONFIGS / "accelerate" / "ddp.yaml"))
    assert ddp.distributed_type == "MULTI_GPU"


# ---------------------------------------------------------------- trainer mappings


def rl_config_path() -> Path:
    spec = importlib.util.find_spec("verifiers")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "rl" / "trainer" / "config.py"


def rl_config_fields() -> set[str]:
    """RLConfig's own dataclass fields, read from source: importing verifiers.rl needs deepspeed."""
    tree = ast.parse(rl_config_path().read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "RLConfig"]
    # the rest of its fields are inherited from transformers.TrainingArguments
    assert [ast.unparse(b) for b in cls.bases] == ["TrainingArguments"]
    return {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}


def test_rl_config_kwargs_are_rl_config_fields():
    from transformers import TrainingArguments

    own = rl_config_fields()
    assert "rollouts_per_example" in own and "num_generations" not in own  # renamed in verifiers 0.1.9
    valid = own | {f.name for f in dataclasses.fields(TrainingArguments)}
    for path in EXPERIMENTS:
        for extra in ([], ["model=qwen2.5-1.5b-lora", "training.eval_steps=10"]):
            kwargs = to_rl_config_kwargs(load_config(path, extra))
            assert set(kwargs) <= valid, set(kwargs) - valid
            assert not (set(kwargs) - own) - {"seed", "save_total_limit"}  # inherited names kept to long-stable ones


# RLConfig's own gradient_checkpointing default (False, not None) trips transformers 5's rename warning
@pytest.mark.filterwarnings("ignore:`gradient_checkpointing` is deprecated:FutureWarning")
def test_rl_config_accepts_kwargs(tmp_path):
    # load config.py on its own (its package __init__ imports deepspeed); it needs only transformers + peft
    spec = importlib.util.spec_from_file_location("_vf_rl_config", rl_config_path())
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = load_config(GPU_EXP, ["model=qwen2.5-1.5b-lora"])
    kwargs = to_rl_config_kwargs(cfg, num_processes=1)
    rl = module.RLConfig(**{**kwargs, "output_dir": str(tmp_path), "use_cpu": True, "bf16": False})
    t = cfg.training
    assert rl.rollouts_per_example == t.num_generations
    assert rl.batch_size == t.per_device_train_batch_size * t.gradient_accumulation_steps
    assert rl.micro_batch_size == rl.per_device_train_batch_size == t.per_device_train_batch_size
    assert rl.sampling_args["max_tokens"] == t.max_completion_length
    assert rl.max_seq_len == t.max_prompt_length + t.max_completion_length
    assert rl.use_lora and rl.lora_config.r == 16 and rl.report_to == []
    kwargs = to_rl_config_kwargs(load_config(GPU_EXP))
    full = module.RLConfig(**{**kwargs, "output_dir": str(tmp_path), "use_cpu": True, "bf16": False})
    assert not full.use_lora and full.lora_config is None  # RLConfig defaults to LoRA; ours must not


def test_rl_batch_size_scales_with_processes():
    cfg = load_config(GPU_EXP)
    one = to_rl_config_kwargs(cfg, num_processes=1)["batch_size"]
    assert to_rl_config_kwargs(cfg, num_processes=4)["batch_size"] == 4 * one


@pytest.mark.parametrize("extra", [[], ["training.eval_steps=2"], ["model.lora.enabled=true"]], ids=str)
@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_grpo_config_accepts_kwargs(path, extra, tmp_path):
    from trl import GRPOConfig

    cfg = load_config(path, extra)
    kwargs = to_grpo_config_kwargs(cfg)
    grpo = GRPOConfig(**{**kwargs, "output_dir": str(tmp_path), "use_cpu": True})
    for key, value in kwargs.items():
        if key not in ("output_dir", "report_to", "eval_strategy", "save_strategy", "use_cpu"):
            assert getattr(grpo, key) == value, key
    assert grpo.num_generations == cfg.training.num_generations
    assert grpo.gradient_checkpointing == cfg.training.gradient_checkpointing


def test_batch_must_hold_whole_rollout_groups():
    cfg = load_config(CPU_EXP, ["training.per_device_train_batch_size=3"])
    for mapping in (to_grpo_config_kwargs, to_rl_config_kwargs):
        with pytest.raises(ConfigError, match="must be a multiple of training.num_generations"):
            mapping(cfg, num_processes=1)
    ok = load_config(CPU_EXP, ["training.per_device_train_batch_size=2"])
    assert to_grpo_config_kwargs(ok, num_processes=2)["per_device_train_batch_size"] == 2


def test_model_lora_and_tracker_kwargs():
    from peft import LoraConfig

    cfg = load_config(GPU_EXP, ["model=qwen2.5-1.5b-lora"])
    lora = LoraConfig(**to_lora_config_kwargs(cfg))
    assert lora.r == 16 and lora.lora_dropout == 0.05 and "gate_proj" in lora.target_modules
    assert to_lora_config_kwargs(load_config(None, ["experiment=leg_counting_embedded_cpu"])) is None
    all_linear = load_config(None, ["experiment=leg_counting_qwen1.5b", "model.lora.enabled=true",
                                    "model.lora.target_modules=[all-linear]"])
    assert to_lora_config_kwargs(all_linear)["target_modules"] == "all-linear"
    assert lora.bias == "none" and lora.task_type == "CAUSAL_LM"
    biased = load_config(None, ["experiment=leg_counting_qwen1.5b", "model.lora.enabled=true", "model.lora.bias=lora_only"])
    assert LoraConfig(**to_lora_config_kwargs(biased)).bias == "lora_only"
    with pytest.raises(ConfigError, match=r"model\.lora\.bias must be one of none, all, lora_only \(got 'some'\)"):
        load_config(None, ["experiment=leg_counting_qwen1.5b", "model.lora.enabled=true", "model.lora.bias=some"]).validate()
    assert to_model_init_kwargs(cfg) == {"dtype": "bfloat16"}
    sdpa = load_config(None, ["experiment=leg_counting_embedded_cpu", "model.attn_implementation=sdpa"])
    assert to_model_init_kwargs(sdpa) == {"dtype": "float32", "attn_implementation": "sdpa"}
    assert tracker_env(cfg) == {}
    wandb = load_config(GPU_EXP, ["logging.report_to=wandb", "logging.wandb_project=p"])
    assert tracker_env(wandb) == {"WANDB_PROJECT": "p", "WANDB_MODE": "online"}


def test_resolve_resume_checkpoint(tmp_path):
    base = ["experiment=leg_counting_embedded_cpu", f"training.output_dir={tmp_path}"]
    assert resolve_resume_checkpoint(load_config(None, base)) is None
    latest = load_config(None, [*base, "training.resume_from_checkpoint=latest"])
    assert resolve_resume_checkpoint(latest) is None  # nothing saved yet: start fresh
    for step in (2, 10, 9):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-final").mkdir()
    assert resolve_resume_checkpoint(latest) == str(tmp_path / "checkpoint-10")
    explicit = load_config(None, [*base, f"training.resume_from_checkpoint={tmp_path / 'checkpoint-2'}"])
    assert resolve_resume_checkpoint(explicit) == str(tmp_path / "checkpoint-2")
    with pytest.raises(ConfigError, match="no checkpoint directory"):
        resolve_resume_checkpoint(load_config(None, [*base, "training.resume_from_checkpoint=/nonexistent/ckpt"]))


# ---------------------------------------------------------------- schema


def test_every_schema_field_is_typed_defaulted_and_documented():
    seen, todo = set(), [ExperimentConfig]
    while todo:
        cls = todo.pop()
        seen.add(cls)
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help"
            assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING, f.name
            nested = [t for t in (f.type, *getattr(f.type, "__args__", ())) if dataclasses.is_dataclass(t)]
            todo += [t for t in nested if t not in seen]
    assert len(seen) == 12  # incl. WarmupConfig, CurriculumConfig and DynamicSamplingConfig


def test_schema_imports_without_omegaconf():
    code = (
        "import sys; sys.modules['omegaconf'] = None\n"
        "import rg_verifiers.config as c\n"
        "c.validate(c.ExperimentConfig(tasks=[c.TaskSpec('leg_counting')]))\n"
        "assert 'omegaconf' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_num_train_epochs_sets_the_same_steps_on_both_backends():
    cfg = load_config(CPU_EXP, ["data.num_train_examples=10", "training.per_device_train_batch_size=4",
                                "training.num_generations=2", "training.num_train_epochs=1.5"])
    # 2 prompts per step (4 rollouts / 2 per prompt); 1.5 x 10 prompts = 15 -> 8 steps
    assert to_grpo_config_kwargs(cfg, num_processes=1)["max_steps"] == 8
    assert to_rl_config_kwargs(cfg, num_processes=1)["max_steps"] == 8
    assert to_rl_config_kwargs(cfg, num_processes=2)["max_steps"] == 4  # twice the prompts per step
    assert to_grpo_config_kwargs(load_config(CPU_EXP), num_processes=1)["max_steps"] == load_config(CPU_EXP).training.max_steps


@pytest.mark.parametrize("override,message", [
    ("vllm.port=0", "vllm.port must be a TCP port"),
    ("vllm.group_port=8000", "vllm.group_port must differ from vllm.port"),
    ("vllm.gpu_memory_utilization=1.5", "vllm.gpu_memory_utilization must be in (0, 1]"),
    ("vllm.tensor_parallel_size=0", "vllm.tensor_parallel_size must be >= 1"),
    ("training.num_train_epochs=0", "training.num_train_epochs must be > 0 or null"),
    ("training.vllm_server_port=8001", "unknown config key 'training.vllm_server_port'"),
])
def test_vllm_section_is_validated(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(GPU_EXP, [override])


def test_vf_vllm_command_comes_from_the_config():
    from rg_verifiers.embedded import hf_model_dir
    from rg_verifiers.train.launch import served_model_name, vf_vllm_args

    cfg = load_config(GPU_EXP, ["vllm.port=9100", "vllm.tensor_parallel_size=2", "vllm.max_model_len=4096",
                                "vllm.extra_args=[--seed,1]", "vllm.enforce_eager=false"])
    args = vf_vllm_args(cfg, inference_gpus=4)
    pairs = dict(zip(args[1::2], args[2::2]))
    assert pairs["--model"] == pairs["--served-model-name"] == cfg.model.name_or_path == served_model_name(cfg)
    assert pairs["--port"] == "9100" and pairs["--tensor-parallel-size"] == "2" and pairs["--data-parallel-size"] == "2"
    assert pairs["--max-model-len"] == "4096" and "--enforce-eager" not in args and args[-2:] == ["--seed", "1"]
    emb = load_config(CPU_EXP)
    assert vf_vllm_args(emb)[2] == str(hf_model_dir()) == served_model_name(emb)
    with pytest.raises(RGVError, match="cannot be split into tensor-parallel groups"):
        vf_vllm_args(load_config(GPU_EXP, ["vllm.tensor_parallel_size=2"]), inference_gpus=3)


def test_8bit_and_4bit_need_lora_the_trl_backend_and_bitsandbytes():
    from rg_verifiers.errors import RGVError
    from rg_verifiers.train.policy import quantization_config

    base = ["experiment=leg_counting_qwen1.5b"]
    with pytest.raises(ConfigError, match=r"model\.lora\.enabled must be true with model\.load_in_8bit"):
        load_config(None, base + ["model.load_in_8bit=true", "training.backend=trl"]).validate()
    with pytest.raises(ConfigError, match=r"training\.backend must be trl with model\.load_in_4bit"):
        load_config(None, base + ["model.load_in_4bit=true", "model.lora.enabled=true"]).validate()
    with pytest.raises(ConfigError, match="cannot be combined"):
        load_config(None, base + ["model.load_in_4bit=true", "model.load_in_8bit=true", "model.lora.enabled=true",
                                  "training.backend=trl"]).validate()
    ok = load_config(None, base + ["model.load_in_4bit=true", "model.lora.enabled=true", "training.backend=trl"]).validate()
    if importlib.util.find_spec("bitsandbytes") is None:  # CPU machines: a line that says what to install
        with pytest.raises(RGVError, match="pip install bitsandbytes"):
            quantization_config(ok)
    else:
        q = quantization_config(ok)
        assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4"
