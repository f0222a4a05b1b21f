"""Shared-prefix compute for a GRPO group on the TRL backend (in-process generation, e.g. CPU).

Every completion of a group continues the same prompt, yet a plain step runs that prompt through
the model once per completion: when generating (prefill) and again in the loss pass. On a CPU the
prompt is most of the tokens (60-token prompts, ~9-token answers on the main job), so most of a
step is spent recomputing the same keys and values. Here each distinct prompt is run once and its
cache is indexed out to the group's rows; generation and the loss pass then run only the new
tokens. The attention, positions and tokens are the ones the plain path uses, so the log-probs and
gradients are the same up to float rounding (tests/test_shared_prefix.py compares both): what is
learned does not change, only how often the same numbers are computed.

Used by `rgv_trainer` (trl_backend.py) when `training.shared_prefix` is on and the rows of a batch
repeat prompts; anything else (vLLM, images, no repeated prompt) takes TRL's own path.
"""

from __future__ import annotations

import inspect

import torch


def prompt_groups(prompt_ids: torch.Tensor, prompt_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(first row of each distinct prompt, row -> its distinct prompt), or None when no prompt repeats."""
    keyed = torch.cat([prompt_ids, prompt_mask.to(prompt_ids.dtype)], dim=1)
    unique, inverse = torch.unique(keyed, dim=0, return_inverse=True)
    if unique.shape[0] == keyed.shape[0]:
        return None
    first = torch.full((unique.shape[0],), keyed.shape[0], dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(keyed.shape[0]), reduce="amin")
    return first, inverse


def _base(model):
    """The transformers model under a peft wrapper (the model itself otherwise)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _cache_kwarg(model) -> str:
    """transformers 5.x calls the cache `cache` (`past_key_values` is deprecated); 4.x only knows the old name."""
    return "cache" if "cache" in inspect.signature(_base(model).forward).parameters else "past_key_values"


def _checkpointing(model) -> bool:
    """Activation (gradient) checkpointing drops the cache in every layer: the prompt would be forgotten."""
    base = _base(model)
    name = "is_activation_checkpointing" if hasattr(type(base), "is_activation_checkpointing") else "is_gradient_checkpointing"
    return bool(getattr(base, name, False))


def _new_cache(model):
    from transformers import DynamicCache

    try:
        return DynamicCache(config=_base(model).config)
    except TypeError:  # transformers 4.x
        return DynamicCache()


def _prefill(model, ids: torch.Tensor, mask: torch.Tensor, position_ids: torch.Tensor | None):
    """The cache of `ids` (one row per distinct prompt); the LM head runs on one position only."""
    cache = _new_cache(model)
    kwargs = {"attention_mask": mask, _cache_kwarg(model): cache, "use_cache": True, "logits_to_keep": 1}
    if position_ids is not None:
        kwargs["position_ids"] = position_ids
    model(input_ids=ids, **kwargs)
    return cache


def generate(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, generation_config,
             generate=None) -> torch.Tensor:
    """`model.generate(input_ids, attention_mask, generation_config)` with each distinct prompt prefilled once.

    All but the last prompt token are prefilled per distinct prompt with the positions generate itself
    derives from the attention mask; the cache is indexed out to every row, and generate runs the last
    prompt token and the new ones. Returns prompt + completion ids like generate. `generate` is the
    model's own generate when the caller has replaced the attribute (the trainer routes TRL's call here)."""
    generate = generate or model.generate
    groups = prompt_groups(input_ids, attention_mask)
    if groups is None or input_ids.shape[1] < 2 or _checkpointing(model):
        return generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=generation_config)
    first, inverse = groups
    ids, mask = input_ids[first], attention_mask[first]
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    with torch.no_grad():
        cache = _prefill(model, ids[:, :-1], mask[:, :-1], positions[:, :-1])
    cache.batch_select_indices(inverse)
    return generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=generation_config,
                    **{_cache_kwarg(model): cache})


def fused_logps(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, logits_to_keep: int,
                compute_entropy: bool) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """TRL's loss-pass log-probs (and entropies) of the last `logits_to_keep` tokens, each distinct prompt
    run once. `model` carries TRL's fused LM head (`fused_lm_head=True`). None when no prompt repeats or
    activation checkpointing is on (it drops the cache; TRL's per-row pass is then the one to run).

    TRL's own pass gives every row positions 0..L-1 (no position ids from the padding) and scores the
    completion tokens; so does this one: the prompt minus its last token is one forward per distinct
    prompt (with gradient: the prompt's keys and values depend on the weights too), the cache is
    indexed out to the rows, and the last prompt token + completion run on top of it."""
    split = input_ids.shape[1] - logits_to_keep
    if split < 2 or _checkpointing(model):
        return None
    groups = prompt_groups(input_ids[:, :split], attention_mask[:, :split])
    if groups is None:
        return None
    first, inverse = groups
    cache = _prefill(model, input_ids[first, :split - 1], attention_mask[first, :split - 1], None)
    cache.batch_select_indices(inverse)
    tail = input_ids[:, split - 1:]
    labels = tail.masked_fill(attention_mask[:, split - 1:] == 0, -100)
    labels[:, 0] = -100  # the last prompt token is context, not a label
    out = model(input_ids=tail, attention_mask=attention_mask, labels=labels, fused_lm_head=True,
                **{_cache_kwarg(model): cache})
    entropy = out.entropy[:, -logits_to_keep:] if compute_entropy else None
    return out.log_probs[:, -logits_to_keep:], entropy
