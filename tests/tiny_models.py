"""Randomly initialised Llama models over the embedded model's tokenizer, for fast CPU tests (test-only)."""

from __future__ import annotations

import torch


def tiny_llama(tokenizer, tied: bool = True, seed: int = 0, layers: int = 1):
    """A 32-wide Llama in eval mode with `layers` decoder layers; its vocabulary is the tokenizer's."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         tie_word_embeddings=tied, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return LlamaForCausalLM(config).eval()
