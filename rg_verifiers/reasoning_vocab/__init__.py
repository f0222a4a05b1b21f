"""Reasoning-vocabulary expansion (`model.reasoning_vocab_size: N`): N extra tokens the policy may
write only while it reasons, and whose meaning GRPO may move away from the words they start as.

Design (the seed framework's idea, made to work with both backends, checkpoints and servers):

- **The tokens.** Reasoning id `E + k` (E = the model's embedding rows before expansion, so padded
  rows such as Qwen's stay where they are) *mirrors* a standard token: the k-th regular token of the
  tokenizer, in id order, cycling when N exceeds them (N = the vocabulary size is a full copy; a
  larger N gives tokens a second mirror). Added/special tokens (chat markers, EOS) are never
  mirrored, so a reasoning token can never end a turn or open a message.
- **Initialisation.** Each new input-embedding row, and each new output (unembedding) row and bias,
  is a copy of its mirror's: at step 0 a reasoning token means exactly what its mirror means.
  Tied models (SmolLM2) share one matrix, so one copy serves both.
- **Emission.** Reasoning ids may be sampled only in the reasoning span: from the start of the
  completion until the text so far contains `</think>`, `<answer>` or `\\boxed{` (the answer formats
  the parsers read; `<think>` blocks are optional). After that their logits are -inf, so answers are written in the
  standard vocabulary (`ReasoningSpanProcessor`, in every transformers generation the project runs:
  TRL's rollouts, the fixed evaluations, the warm-up's baseline).
- **Decoding.** Text is always the mirrors' text: the tokenizer decodes reasoning ids as their
  mirror ids (`attach`), so parsing and scoring see the same string a standard-vocabulary model
  would have written, and the token ids (what GRPO trains) keep the distinction. Text from a server
  (vf-vllm) is re-decoded from the token ids it returns (`restore_response`): a tokenizer has no
  string for the new ids and drops them.
- **Checkpoints.** config.json carries `vocab_size = E + N` and `rgv_reasoning_vocab` (E, N, the
  ids never mirrored, the span ends), so `from_pretrained` reloads the grown matrices as they are
  and `ReasoningVocab.of(model)` restores the rules; the tokenizer files are the base model's.
- **vLLM.** It serves the expanded checkpoint as a plain model of the architecture (vf-vllm
  `--model <output_dir>/reasoning_vocab`, which `python -m rg_verifiers.reasoning_vocab CONFIG`
  writes before the server starts). vLLM 0.10's server takes no per-request logits processor, so
  there the span rule is not enforced: reasoning ids written after the span still decode to their
  mirrors' text, so rewards are computed as on the other backend.
- **LoRA** trains the new rows in full (peft's `trainable_token_indices`), the rest through adapters.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import RGVError

CONFIG_KEY = "rgv_reasoning_vocab"
SPAN_ENDS = ("</think>", "<answer>", "\\boxed{")  # the answer formats the parsers read (protocol.py)
FOLDER = "reasoning_vocab"


@dataclass(frozen=True)
class ReasoningVocab:
    standard_size: int  # embedding rows before expansion: the first reasoning id
    size: int  # N
    tokenizer_size: int  # ids below this have a string in the tokenizer
    unmirrored: tuple[int, ...]  # added/special token ids, never mirrored
    span_ends: tuple[str, ...] = SPAN_ENDS

    @classmethod
    def plan(cls, tokenizer, standard_size: int, size: int) -> "ReasoningVocab":
        if size < 0:
            raise RGVError(f"model.reasoning_vocab_size must be >= 0, got {size}")
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        special |= set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
        vocab = cls(standard_size, size, min(len(tokenizer), standard_size), tuple(sorted(special)))
        if size and not vocab.regular_ids:
            raise RGVError("the tokenizer has no regular tokens to mirror")
        return vocab

    @functools.cached_property
    def regular_ids(self) -> tuple[int, ...]:
        skip = set(self.unmirrored)
        return tuple(i for i in range(self.tokenizer_size) if i not in skip)

    @functools.cached_property
    def mirrors(self) -> tuple[int, ...]:
        """mirrors[k]: the standard id reasoning id standard_size + k stands for."""
        regular = self.regular_ids
        return tuple(regular[k % len(regular)] for k in range(self.size))

    @property
    def total_size(self) -> int:
        return self.standard_size + self.size

    def is_reasoning(self, token_id: int) -> bool:
        return self.standard_size <= token_id < self.total_size

    def to_standard(self, ids: Iterable[int]) -> list[int]:
        e, n, m = self.standard_size, self.size, self.mirrors
        return [m[i - e] if e <= i < e + n else i for i in ids]

    def to_config(self) -> dict:
        return {"standard_vocab_size": self.standard_size, "size": self.size, "tokenizer_size": self.tokenizer_size,
                "unmirrored_ids": list(self.unmirrored), "span_ends": list(self.span_ends)}

    @classmethod
    def from_config(cls, d: dict) -> "ReasoningVocab":
        return cls(int(d["standard_vocab_size"]), int(d["size"]), int(d["tokenizer_size"]),
                   tuple(int(i) for i in d["unmirrored_ids"]), tuple(d.get("span_ends", SPAN_ENDS)))

    @classmethod
    def of(cls, model_or_config) -> "ReasoningVocab | None":
        """The vocabulary a model (or its config, or a checkpoint folder) was expanded with; None for a plain one."""
        if isinstance(model_or_config, (str, Path)):
            path = Path(model_or_config) / "config.json"
            d = json.loads(path.read_text()).get(CONFIG_KEY) if path.is_file() else None
        else:
            config = getattr(model_or_config, "config", model_or_config)
            d = getattr(config, CONFIG_KEY, None)
        return cls.from_config(d) if d else None


def expand(model, tokenizer, size: int) -> ReasoningVocab:
    """Grow `model` by `size` reasoning tokens, each initialised as a copy of its mirror (in place)."""
    import torch

    emb = model.get_input_embeddings()
    standard = emb.weight.shape[0]
    vocab = ReasoningVocab.plan(tokenizer, standard, size)
    out = model.get_output_embeddings()
    tied = out is not None and out.weight.data_ptr() == emb.weight.data_ptr()
    # mean_resizing=False: the rows are overwritten with the mirrors' next
    model.resize_token_embeddings(vocab.total_size, mean_resizing=False)
    emb, out = model.get_input_embeddings(), model.get_output_embeddings()
    src = torch.tensor(vocab.mirrors, dtype=torch.long, device=emb.weight.device)
    with torch.no_grad():
        emb.weight[standard:] = emb.weight[src]
        if out is not None and not tied:
            out.weight[standard:] = out.weight[src.to(out.weight.device)]
            if getattr(out, "bias", None) is not None and out.bias.shape[0] == vocab.total_size:
                out.bias[standard:] = out.bias[src.to(out.bias.device)]
    setattr(model.config, CONFIG_KEY, vocab.to_config())
    return vocab


def attach(tokenizer, vocab: ReasoningVocab | None):
    """Make `tokenizer` decode reasoning ids as their mirrors (every decode path goes through `_decode`)."""
    if vocab is None or vocab.size == 0 or getattr(tokenizer, "_rgv_reasoning_vocab", None) == vocab:
        return tokenizer
    plain = type(tokenizer)._decode.__get__(tokenizer)

    def _decode(token_ids, *args, **kwargs):
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        elif isinstance(token_ids, dict):
            token_ids = token_ids["input_ids"]
        return plain(vocab.to_standard(token_ids), *args, **kwargs)

    tokenizer._decode = _decode
    tokenizer._rgv_reasoning_vocab = vocab
    return tokenizer


class ReasoningSpanProcessor:
    """transformers LogitsProcessor: reasoning ids are -inf once the completion's text contains a span end.

    The completion starts after the prompt given to `generate` (the prompt's own instructions mention
    `<answer>`). A row whose span has ended stays ended, so each row is decoded until then only.
    """

    def __init__(self, vocab: ReasoningVocab, tokenizer, prompt_length: int | None = None):
        self.vocab, self.tokenizer, self.prompt_length = vocab, tokenizer, prompt_length
        self.ended: set[int] = set()

    def span_ended(self, completion_ids: Sequence[int]) -> bool:
        text = self.tokenizer.decode(self.vocab.to_standard(completion_ids), skip_special_tokens=False)
        return any(end in text for end in self.vocab.span_ends)

    def __call__(self, input_ids, scores):
        if self.prompt_length is None:  # the first call sees the prompt alone
            self.prompt_length = input_ids.shape[1]
        for row in range(input_ids.shape[0]):
            if row not in self.ended and self.span_ended(input_ids[row, self.prompt_length:].tolist()):
                self.ended.add(row)
            if row in self.ended:
                scores[row, self.vocab.standard_size:self.vocab.total_size] = float("-inf")
        return scores


def _innermost(model):
    """The transformers model under PEFT/accelerate wrappers (PeftModel.generate delegates to it)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def activate(model, tokenizer) -> ReasoningVocab | None:
    """Apply an expanded model's rules: its tokenizer decodes mirrors, its `generate` keeps the span rule.

    Idempotent, and a no-op for a model without a reasoning vocabulary."""
    vocab = ReasoningVocab.of(model)
    if vocab is None or vocab.size == 0:
        return None
    rows = model.get_input_embeddings().weight.shape[0]
    if rows != vocab.total_size:
        raise RGVError(f"the model has {rows} embedding rows, but its config's {CONFIG_KEY} says "
                       f"{vocab.standard_size} + {vocab.size}: the checkpoint is inconsistent")
    attach(tokenizer, vocab)
    inner = _innermost(model)
    if getattr(inner, "_rgv_span_rule", False):
        return vocab
    plain_generate = inner.generate

    def generate(*args, **kwargs):
        from transformers import LogitsProcessorList

        procs = LogitsProcessorList(kwargs.pop("logits_processor", None) or [])
        procs.append(ReasoningSpanProcessor(vocab, tokenizer))
        return plain_generate(*args, logits_processor=procs, **kwargs)

    inner.generate = generate
    inner._rgv_span_rule = True
    return vocab


def lora_token_indices(model, vocab: ReasoningVocab | None) -> dict | None:
    """peft's `trainable_token_indices` for LoRA runs: the reasoning rows of the embedding (and of an untied
    output layer) train, as full rows; every other weight stays frozen under the adapters."""
    if vocab is None or vocab.size == 0:
        return None
    ids = list(range(vocab.standard_size, vocab.total_size))
    inner = _innermost(model)
    emb, out = inner.get_input_embeddings(), inner.get_output_embeddings()
    names = {id(m): n.rsplit(".", 1)[-1] for n, m in inner.named_modules()}
    found = {names[id(emb)]: ids}
    if out is not None and out.weight.data_ptr() != emb.weight.data_ptr():
        found[names[id(out)]] = ids
    return found


def expose_token_wrapper_bias(model) -> None:
    """TRL's fused LM head reads `lm_head.weight` and `lm_head.bias`; peft's TrainableTokensWrapper
    answers `weight` (the merged rows, with their gradient) but not `bias`: give it its layer's."""
    try:
        from peft.utils.other import TrainableTokensWrapper
    except ImportError:
        return
    for m in model.modules():
        if isinstance(m, TrainableTokensWrapper) and "bias" not in m.__dict__:
            # object.__setattr__: not registered as a parameter of the wrapper (the state dict stays peft's)
            object.__setattr__(m, "bias", getattr(m.original_module, "bias", None))


def reasoning_token_share(vocab: ReasoningVocab, completion_ids: Sequence[Sequence[int]]) -> float:
    """Fraction of completion tokens that are reasoning ids (logged as reasoning_vocab/share)."""
    total = sum(len(c) for c in completion_ids)
    return sum(vocab.is_reasoning(int(t)) for c in completion_ids for t in c) / total if total else 0.0


def restore_response(response, vocab: ReasoningVocab | None, tokenizer) -> None:
    """A server's chat completion, its text re-decoded from its token ids with mirrors (in place).

    Servers decode with the base tokenizer, which has no string for reasoning ids and drops them."""
    if vocab is None or not getattr(response, "choices", None):
        return
    choice = response.choices[0]
    ids = getattr(choice, "token_ids", None)
    message = getattr(choice, "message", None)
    if not ids or message is None or not any(vocab.is_reasoning(int(t)) for t in ids):
        return
    # skip_special_tokens: the EOS a server keeps in token_ids is not in its text either
    message.content = tokenizer.decode(vocab.to_standard(ids), skip_special_tokens=True)


# ---- the expanded checkpoint both backends start from ---------------------------------------------


def prepared_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / FOLDER


def _stamp(model_path: str, size: int) -> dict:
    return {"base": str(Path(model_path).resolve()), "size": size}


def ready(model_path: str, size: int, output_dir: str | Path) -> str | None:
    """The folder training starts from, when it needs no writing: `model_path` itself when it already
    has this reasoning vocabulary (a resumed or continued run), or `<output_dir>/reasoning_vocab`
    written from this base and size; else None."""
    have = ReasoningVocab.of(model_path)
    if have is not None:
        if have.size != size:
            raise RGVError(f"{model_path} already has a reasoning vocabulary of {have.size} tokens; "
                           f"model.reasoning_vocab_size={size} would grow it again: set it to {have.size}")
        return model_path
    out = prepared_dir(output_dir)
    source = out / "rgv_source.json"
    if (out / "config.json").is_file() and source.is_file() and json.loads(source.read_text()) == _stamp(model_path, size):
        return str(out)
    return None


def prepare(model_path: str, size: int, output_dir: str | Path, model_kwargs: dict | None = None, console=None) -> str:
    """`ready`'s folder, or `<output_dir>/reasoning_vocab` written now (once: a folder from an earlier run
    with the same base and size is reused, so vf-vllm and the trainer load the same weights)."""
    import os
    import shutil

    found = ready(model_path, size, output_dir)
    if found is not None:
        return found
    out = prepared_dir(output_dir)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if console is not None:
        console.print(f"[bold]reasoning vocabulary:[/] +{size} tokens (mirrors of the first regular tokens) -> {out}")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    kwargs = {k: v for k, v in (model_kwargs or {}).items() if k not in ("quantization_config", "device_map")}
    model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    expand(model, tokenizer, size)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "rgv_source.json").write_text(json.dumps(_stamp(model_path, size)))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return str(out)


def refuse_served_reasoning_vocab(folder: str, name: str | None = None) -> None:
    """One line for `rgv eval/bench/serve -m DIR` of an expanded checkpoint: llama.cpp would print the new
    ids as [PAD<id>] and vLLM's text drops them, and neither keeps them to the span."""
    vocab = ReasoningVocab.of(folder)
    if vocab is not None:
        raise RGVError(f"{name or folder} has a reasoning vocabulary ({vocab.size} extra tokens, "
                       f"model.reasoning_vocab_size) that a server's text would lose: evaluate it with "
                       f"`python -m rg_verifiers.reasoning_vocab eval {name or folder}` (its run's eval split)")
