"""The policy model and its prompts, loaded the same way by both backends."""

from __future__ import annotations

from ..config import ExperimentConfig
from ..config.loader import to_model_init_kwargs


def model_init_kwargs(cfg: ExperimentConfig, cuda: bool) -> dict:
    """from_pretrained kwargs: model.dtype and model.attn_implementation as configured.

    dtype 'auto' keeps the checkpoint's dtype on a GPU; on a CPU it means float32 (CPUs without
    native bf16 are faster in fp32, and exact).
    """
    import torch

    init = to_model_init_kwargs(cfg)
    if init.get("dtype") == "auto" and not cuda:
        init["dtype"] = torch.float32
    elif init.get("dtype") != "auto":
        init["dtype"] = getattr(torch, init["dtype"])
    if cfg.model.load_in_8bit or cfg.model.load_in_4bit:
        init["quantization_config"] = quantization_config(cfg)
    return init


def quantization_config(cfg: ExperimentConfig):
    """bitsandbytes 8-bit or 4-bit NF4 (QLoRA's recipe: double quantization, bf16 compute)."""
    import importlib.util

    import torch
    from transformers import BitsAndBytesConfig

    from ..errors import RGVError

    if importlib.util.find_spec("bitsandbytes") is None:
        raise RGVError("model.load_in_8bit/load_in_4bit need bitsandbytes: pip install bitsandbytes (GPU machines)")
    if cfg.model.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def policy_facts(model) -> dict:
    """What the trained model really was (train_results.json), read off the loaded model."""
    from ..reasoning_vocab import ReasoningVocab

    vocab = ReasoningVocab.of(model)
    return {"model_dtype": str(model.dtype), "attn_implementation": getattr(model.config, "_attn_implementation", None),
            "embedding_rows": int(model.get_input_embeddings().weight.shape[0]),
            "reasoning_vocab_size": vocab.size if vocab else 0}


def drop_long_prompts(dataset, tokenizer, max_prompt_length: int, console=None):
    """Rows whose chat prompt exceeds max_prompt_length tokens are dropped, as RLTrainer's orchestrator
    does, so both backends train on the same prompts (truncating a question would change its answer)."""
    def fits(row):
        text = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        return len(tokenizer.encode(text)) <= max_prompt_length

    kept = dataset.filter(fits)
    if console is not None and len(kept) < len(dataset):
        console.print(f"[yellow]dropped {len(dataset) - len(kept)} of {len(dataset)} training prompts longer than "
                      f"training.max_prompt_length={max_prompt_length} tokens[/]")
    if len(kept) == 0:
        from ..errors import RGVError

        raise RGVError(f"every training prompt is longer than training.max_prompt_length={max_prompt_length} tokens; raise it")
    return kept
