"""Shared-prefix compute (training.shared_prefix, rg_verifiers/train/shared_prefix.py): each group's prompt
runs through the model once, and nothing a GRPO step computes changes — generated tokens, TRL's
loss-pass log-probs and entropies, gradients (full weights and LoRA), and a whole TRL step's loss."""

import contextlib
import json
import types

import pytest
import torch

from rg_verifiers.train import shared_prefix
from tiny_models import tiny_llama

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from rg_verifiers.embedded import hf_model_dir

    tok = AutoTokenizer.from_pretrained(hf_model_dir())
    tok.padding_side = "left"
    return tok


def tiny_model(tokenizer, seed=0):
    return tiny_llama(tokenizer, seed=seed, layers=2)  # two layers: the cache of one feeds the next


def group_batch(tokenizer, group=3):
    """Three prompts of different lengths (left padding differs per prompt), each repeated `group` times."""
    texts = ["What is 2 + 3?", "Count the legs of 3 spiders and 1 cat, please, carefully.", "Sort: b a c"]
    chats = [tokenizer.apply_chat_template([{"role": "user", "content": t}], add_generation_prompt=True, tokenize=False)
             for t in texts]
    enc = tokenizer(chats, return_tensors="pt", padding=True, add_special_tokens=False)
    assert len(set((enc.attention_mask == 0).sum(1).tolist())) > 1
    return enc.input_ids.repeat_interleave(group, 0), enc.attention_mask.repeat_interleave(group, 0)


def test_prompt_groups_finds_each_distinct_prompt():
    ids = torch.tensor([[0, 5, 6], [1, 2, 3], [0, 5, 6], [1, 2, 3], [1, 2, 3]])
    mask = torch.tensor([[0, 1, 1], [1, 1, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]])
    first, inverse = shared_prefix.prompt_groups(ids, mask)
    assert torch.equal(ids[first][inverse], ids)  # every row is its group's first row
    assert sorted(first.tolist()) == [0, 1]
    assert shared_prefix.prompt_groups(ids[:2], mask[:2]) is None  # nothing to share
    # the same ids under another mask are another prompt
    assert shared_prefix.prompt_groups(ids[[0, 2]], torch.tensor([[0, 1, 1], [1, 1, 1]])) is None


def test_generation_gives_the_same_tokens_as_plain_generate(tokenizer):
    from transformers import GenerationConfig

    model = tiny_model(tokenizer)
    ids, mask = group_batch(tokenizer)
    greedy = GenerationConfig(do_sample=False, max_new_tokens=12, pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=tokenizer.eos_token_id)
    with torch.no_grad():
        plain = model.generate(input_ids=ids, attention_mask=mask, generation_config=greedy)
        shared = shared_prefix.generate(model, ids, mask, greedy)
    assert torch.equal(plain, shared)
    sampled = GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=12,
                               pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    with torch.no_grad():
        torch.manual_seed(3)
        plain = model.generate(input_ids=ids, attention_mask=mask, generation_config=sampled)
        torch.manual_seed(3)
        shared = shared_prefix.generate(model, ids, mask, sampled)
    assert torch.equal(plain, shared)  # the same random draws over the same distributions


def trl_logps(model, input_ids, attention_mask, logits_to_keep):
    """TRL's own loss pass (GRPOTrainer._get_per_token_logps_and_entropies, the real method)."""
    from trl import GRPOTrainer

    host = types.SimpleNamespace(accelerator=types.SimpleNamespace(autocast=contextlib.nullcontext, is_main_process=True))
    logps, entropies, _ = GRPOTrainer._get_per_token_logps_and_entropies(
        host, model, input_ids, attention_mask, logits_to_keep, compute_entropy=True)
    return logps, entropies


@pytest.mark.parametrize("lora", [False, True])
def test_loss_pass_gives_trls_log_probs_and_gradients(tokenizer, lora):
    from transformers import GenerationConfig
    from trl.trainer.utils import add_fused_lm_head

    model = tiny_model(tokenizer)
    ids, mask = group_batch(tokenizer)
    sampled = GenerationConfig(do_sample=True, max_new_tokens=10, pad_token_id=tokenizer.pad_token_id,
                               eos_token_id=tokenizer.eos_token_id)
    with torch.no_grad():
        torch.manual_seed(1)
        seq = model.generate(input_ids=ids, attention_mask=mask, generation_config=sampled)
    completion = seq.shape[1] - ids.shape[1]
    completion_mask = torch.ones(seq.shape[0], completion, dtype=mask.dtype)
    completion_mask[0, completion // 2:] = 0  # a completion that ended early
    full_mask = torch.cat([mask, completion_mask], dim=1)
    add_fused_lm_head(model, temperature=0.7, outputs=("log_probs", "entropy"))
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
        for p in model.parameters():
            if p.requires_grad:
                torch.nn.init.normal_(p, std=0.05)  # B starts at 0: give every adapter a gradient path
    model.train()
    trained = [p for p in model.parameters() if p.requires_grad]

    def run(fn):
        logps, entropies = fn()
        (logps * completion_mask).sum().backward()
        grads = [p.grad.clone() for p in trained]
        model.zero_grad(set_to_none=True)
        return logps.detach(), entropies.detach(), grads

    want = run(lambda: trl_logps(model, seq, full_mask, completion))
    got = run(lambda: shared_prefix.fused_logps(model, seq, full_mask, completion, compute_entropy=True))
    assert got[0].shape == want[0].shape == (seq.shape[0], completion)
    torch.testing.assert_close(got[0], want[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(got[1], want[1], atol=1e-4, rtol=1e-4)
    assert len(got[2]) == len(want[2]) > 0
    for g, w in zip(got[2], want[2]):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-3)


def test_rows_without_a_repeated_prompt_or_with_checkpointing_take_trls_path(tokenizer):
    model = tiny_model(tokenizer)
    ids, mask = group_batch(tokenizer, group=1)
    assert shared_prefix.fused_logps(model, ids, mask, 2, compute_entropy=False) is None
    # activation checkpointing drops every layer's cache: the prompt would not be seen (measured: log-probs off
    # by 0.16, gradients by 5x their norm), so that path is never taken under it
    ids, mask = group_batch(tokenizer, group=2)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    assert shared_prefix.fused_logps(model, ids, mask, 2, compute_entropy=False) is None


def test_a_trl_step_is_the_same_with_and_without_it(tokenizer, tmp_path, monkeypatch):
    """A GRPO step of the project's trainer, shared prefix on and off: the same completions (rewards, lengths),
    entropy, loss and gradient norm, and the shared path really ran (generation and loss pass). Only the
    first step is compared: a random tiny model samples from a near-uniform distribution, where float
    rounding in the updated weights flips later draws."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from rg_verifiers.train.trl_backend import rgv_trainer

    calls = {"generate": 0, "fused_logps": 0}
    for name in calls:
        original = getattr(shared_prefix, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(shared_prefix, name, counted)

    rows = Dataset.from_list([{"prompt": [{"role": "user", "content": f"Say {w}."}]} for w in
                              ["one", "two words", "three more words", "four"]])

    def reward(completions, **kwargs):
        return [float(len(c[-1]["content"]) % 7) for c in completions]

    def run(on: bool) -> list[dict]:
        torch.manual_seed(0)
        args = GRPOConfig(output_dir=str(tmp_path / str(on)), max_steps=1, learning_rate=1e-2,
                          per_device_train_batch_size=6, num_generations=3, max_completion_length=8,
                          logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, bf16=False, seed=7,
                          disable_tqdm=True, log_completions=False, gradient_checkpointing=False)
        trainer = rgv_trainer(GRPOTrainer)(model=tiny_model(tokenizer), reward_funcs=[reward], args=args,
                                            train_dataset=rows, processing_class=tokenizer, shared_prefix=on)
        trainer.train()
        keys = ("loss", "reward", "reward_std", "completions/mean_length", "entropy", "grad_norm")
        return [{k: v for k, v in log.items() if k in keys} for log in trainer.state.log_history if "loss" in log]

    plain = run(False)
    assert calls == {"generate": 0, "fused_logps": 0}
    shared = run(True)
    assert calls["generate"] == 1 and calls["fused_logps"] >= 1
    assert len(plain) == len(shared) == 1 and len(plain[0]) == 6
    for key, value in plain[0].items():
        assert shared[0][key] == pytest.approx(value, rel=1e-4, abs=1e-6), (key, json.dumps([plain, shared]))
