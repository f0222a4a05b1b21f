"""Experiment configs: typed schema (schema.py) + YAML/CLI composition and trainer mappings (loader.py).

The loader needs omegaconf (the ``train`` extra), so its names are imported on first use; the schema
stays importable from a bare environment install.
"""

from .schema import (
    ConfigError,
    CurriculumConfig,
    DynamicSamplingConfig,
    DataConfig,
    ExperimentConfig,
    LaunchConfig,
    LoggingConfig,
    LoraSettings,
    ModelConfig,
    RewardSpec,
    TaskSpec,
    TrainingConfig,
    VLLMServerConfig,
    WarmupConfig,
    field_help,
    validate,
)

_LOADER_NAMES = {
    "load_config",
    "save_config",
    "config_to_yaml",
    "resolve_resume_checkpoint",
    "to_rl_config_kwargs",
    "to_grpo_config_kwargs",
    "to_model_init_kwargs",
    "to_lora_config_kwargs",
    "tracker_env",
}

__all__ = [
    "ConfigError",
    "CurriculumConfig",
    "DynamicSamplingConfig",
    "DataConfig",
    "ExperimentConfig",
    "LaunchConfig",
    "LoggingConfig",
    "LoraSettings",
    "ModelConfig",
    "RewardSpec",
    "TaskSpec",
    "TrainingConfig",
    "VLLMServerConfig",
    "WarmupConfig",
    "field_help",
    "validate",
    *sorted(_LOADER_NAMES),
]


def __getattr__(name: str):
    if name in _LOADER_NAMES:
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
