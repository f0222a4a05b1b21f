"""Reasoning-vocabulary expansion (model.reasoning_vocab_size): growth, initialisation, the span rule,
decoding for parse/score, checkpoints, LoRA, the launch commands, and CPU training (TRL backend).

The verifiers backend's run is in tests/test_vf_backend.py (it needs the vf-vllm stand-in)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rg_verifiers import reasoning_vocab as rv
from rg_verifiers.protocol import parse_answer
from tiny_models import tiny_llama

ROOT = Path(__file__).resolve().parent.parent
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from rg_verifiers.embedded import hf_model_dir

    return AutoTokenizer.from_pretrained(hf_model_dir())


def tiny_model(tokenizer, tied=True, seed=0):
    return tiny_llama(tokenizer, tied=tied, seed=seed)


def fresh_tokenizer():
    from transformers import AutoTokenizer

    from rg_verifiers.embedded import hf_model_dir

    return AutoTokenizer.from_pretrained(hf_model_dir())


@pytest.mark.parametrize("tied", [True, False])
def test_expansion_grows_by_n_and_copies_the_mirrors_rows(tokenizer, tied):
    model = tiny_model(tokenizer, tied)
    emb0 = model.get_input_embeddings().weight.detach().clone()
    out0 = model.get_output_embeddings().weight.detach().clone()
    vocab = rv.expand(model, tokenizer, 64)
    e = len(tokenizer)
    assert model.get_input_embeddings().weight.shape[0] == e + 64 == model.config.vocab_size
    assert model.get_output_embeddings().weight.shape[0] == e + 64
    mirrors = torch.tensor(vocab.mirrors)
    assert torch.equal(model.get_input_embeddings().weight[e:], emb0[mirrors])
    assert torch.equal(model.get_output_embeddings().weight[e:], out0[mirrors])
    assert torch.equal(model.get_input_embeddings().weight[:e], emb0)  # the standard rows are untouched
    tied_now = model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert tied_now == tied


def test_mirrors_skip_special_tokens_and_cycle(tokenizer):
    special = set(tokenizer.added_tokens_decoder)
    assert tokenizer.eos_token_id in special
    vocab = rv.ReasoningVocab.plan(tokenizer, len(tokenizer), 3 * len(tokenizer))
    assert not special & set(vocab.mirrors)
    regular = len(tokenizer) - len(special)
    assert vocab.mirrors[regular] == vocab.mirrors[0]  # a second copy after a full one
    assert rv.ReasoningVocab.from_config(json.loads(json.dumps(vocab.to_config()))) == vocab


def test_untrained_expanded_model_writes_the_same_text_greedily(tokenizer):
    """Mirrors tie with their standard tokens, argmax takes the standard id: before any training an
    expanded model's greedy text is the base model's, token for token."""
    base = tiny_model(tokenizer)
    prompt = tokenizer("The answer is", return_tensors="pt")
    want = base.generate(**prompt, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    rv.expand(base, tokenizer, 256)
    tok = fresh_tokenizer()
    rv.activate(base, tok)
    got = base.generate(**prompt, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert got.tolist() == want.tolist()


def test_reasoning_ids_decode_as_their_mirrors_and_answers_parse(tokenizer):
    tok = fresh_tokenizer()
    model = tiny_model(tok)
    vocab = rv.expand(model, tok, len(tok))  # a full copy: every regular token has a reasoning twin
    rv.activate(model, tok)
    text = "Let me count: 2 + 3 = 5. <answer>5</answer>"
    ids = tok.encode(text, add_special_tokens=False)
    twin = {m: vocab.standard_size + k for k, m in enumerate(vocab.mirrors)}
    as_reasoning = [twin[i] for i in ids]
    assert all(vocab.is_reasoning(i) for i in as_reasoning)
    assert tok.decode(as_reasoning) == text == tok.batch_decode([as_reasoning])[0]
    assert parse_answer(tok.decode(as_reasoning, skip_special_tokens=True)) == "5"
    plain = fresh_tokenizer()  # what a server holding the base tokenizer makes of them
    assert plain.decode(as_reasoning) == ""


def test_span_rule_masks_reasoning_ids_after_the_answer_opens(tokenizer):
    tok = fresh_tokenizer()
    vocab = rv.ReasoningVocab.plan(tok, len(tok), 32)
    rv.attach(tok, vocab)
    prompt = tok.encode("Put it in <answer></answer> tags.", add_special_tokens=False)  # the prompt's tags do not count
    reasoning = tok.encode("I think it is 4.", add_special_tokens=False)
    answering = tok.encode("I think it is 4. <answer>", add_special_tokens=False)
    boxing = tok.encode("so it is \\boxed{", add_special_tokens=False)  # the math datasets' answer format
    proc = rv.ReasoningSpanProcessor(vocab, tok, prompt_length=len(prompt))
    width = max(len(answering), len(boxing))
    rows = [r + [tok.pad_token_id] * (width - len(r)) for r in (reasoning, answering, boxing)]
    # padding after the reasoning row's text decodes to nothing: that row's span is still open
    scores = proc(torch.tensor([prompt + r for r in rows]), torch.zeros(3, vocab.total_size))
    assert torch.isfinite(scores[0]).all()
    for row in (1, 2):
        assert torch.isinf(scores[row, vocab.standard_size:]).all() and torch.isfinite(scores[row, :vocab.standard_size]).all()


class ForcePrefix:
    """A caller's own logits processor: forces `ids` as the completion's first tokens."""

    def __init__(self, ids, prompt_length):
        self.ids, self.prompt_length = ids, prompt_length

    def __call__(self, input_ids, scores):
        k = input_ids.shape[1] - self.prompt_length
        if k < len(self.ids):
            scores[:] = float("-inf")
            scores[:, self.ids[k]] = 0.0
        return scores


def test_sampling_writes_reasoning_ids_only_inside_the_span(tokenizer):
    from transformers import LogitsProcessorList

    tok = fresh_tokenizer()
    model = tiny_model(tok)
    vocab = rv.expand(model, tok, len(tok))
    rv.activate(model, tok)
    prompt = tok("Q:", return_tensors="pt")
    n = prompt["input_ids"].shape[1]

    def sample(prefix, seed):
        torch.manual_seed(seed)
        out = model.generate(**prompt, max_new_tokens=24, do_sample=True, top_k=0, temperature=1.0,
                             pad_token_id=tok.pad_token_id, logits_processor=LogitsProcessorList([ForcePrefix(prefix, n)]))
        return out[0, n:].tolist()

    free = [t for seed in range(3) for t in sample([], seed)]
    assert sum(vocab.is_reasoning(t) for t in free) > len(free) / 4  # a full copy: about half are reasoning ids
    tag = tok.encode("<answer>", add_special_tokens=False)
    for seed in range(3):
        after = sample(tag, seed)[len(tag):]
        assert after and not any(vocab.is_reasoning(t) for t in after)


def test_checkpoint_saves_and_reloads_with_the_grown_vocabulary(tmp_path, tokenizer):
    from transformers import AutoModelForCausalLM

    model = tiny_model(tokenizer)
    vocab = rv.expand(model, tokenizer, 48)
    model.save_pretrained(tmp_path)
    again = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert again.get_input_embeddings().weight.shape[0] == len(tokenizer) + 48
    assert rv.ReasoningVocab.of(again) == vocab == rv.ReasoningVocab.of(tmp_path)
    assert torch.equal(again.get_input_embeddings().weight, model.get_input_embeddings().weight)


def test_prepare_writes_once_reuses_and_refuses_a_second_growth(tmp_path, tokenizer):
    base = tmp_path / "base"
    tiny_model(tokenizer).save_pretrained(base)
    tokenizer.save_pretrained(base)
    first = rv.prepare(str(base), 16, tmp_path / "run")
    assert first == str(tmp_path / "run" / "reasoning_vocab")
    stamp = (Path(first) / "model.safetensors").stat().st_mtime_ns
    assert rv.prepare(str(base), 16, tmp_path / "run") == first
    assert (Path(first) / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not rewritten
    assert rv.prepare(first, 16, tmp_path / "other") == first  # continuing from an expanded checkpoint
    with pytest.raises(rv.RGVError, match="already has a reasoning vocabulary of 16 tokens"):
        rv.prepare(first, 32, tmp_path / "other")


def test_untied_lora_trains_both_reasoning_row_blocks(tokenizer):
    from peft import LoraConfig, get_peft_model

    model = tiny_model(tokenizer, tied=False)
    vocab = rv.expand(model, tokenizer, 8)
    found = rv.lora_token_indices(model, vocab)
    assert set(found) == {"embed_tokens", "lm_head"}
    peft = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"], trainable_token_indices=found))
    trainable = [n for n, p in peft.named_parameters() if p.requires_grad]
    assert any("trainable_tokens_delta" in n and "embed_tokens" in n for n in trainable)
    assert any("trainable_tokens_delta" in n and "lm_head" in n for n in trainable)
    assert rv.lora_token_indices(model, None) is None


def test_restore_response_redecodes_server_text_from_token_ids(tokenizer):
    from openai.types.chat import ChatCompletion

    tok = fresh_tokenizer()
    vocab = rv.ReasoningVocab.plan(tok, len(tok), len(tok))
    twin = {m: vocab.standard_size + k for k, m in enumerate(vocab.mirrors)}
    ids = [twin[i] for i in tok.encode("so 7", add_special_tokens=False)] + tok.encode(" <answer>7</answer>",
                                                                                      add_special_tokens=False)
    ids.append(tok.eos_token_id)
    server_text = tok.decode(ids[:-1], skip_special_tokens=True)  # what vLLM's detokenizer leaves
    assert server_text == " <answer>7</answer>"
    response = ChatCompletion.model_validate({
        "id": "x", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "token_ids": ids,
                     "message": {"role": "assistant", "content": server_text}}]})
    rv.restore_response(response, vocab, tok)
    assert response.choices[0].message.content == "so 7 <answer>7</answer>"


def test_config_field_and_bad_values():
    from rg_verifiers.config import load_config
    from rg_verifiers.config.schema import ConfigError

    cfg = load_config(ROOT / "configs/experiments/leg_counting_embedded_cpu.yaml", ["model.reasoning_vocab_size=64"])
    assert cfg.model.reasoning_vocab_size == 64
    assert load_config(ROOT / "configs/experiments/leg_counting_embedded_cpu.yaml").model.reasoning_vocab_size == 0
    with pytest.raises(ConfigError, match="model.reasoning_vocab_size"):
        load_config(ROOT / "configs/experiments/leg_counting_embedded_cpu.yaml", ["model.reasoning_vocab_size=-1"])


def test_print_launch_writes_the_expanded_checkpoint_before_vf_vllm_serves_it():
    done = subprocess.run([sys.executable, "train_minimal.py", "configs/experiments/leg_counting_qwen1.5b.yaml",
                           "--print-launch", "--gpus", "4", "--inference-gpus", "2", "model.reasoning_vocab_size=151646"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    prepare, server, trainer = done.stdout.strip().splitlines()
    assert prepare == ("python -m rg_verifiers.reasoning_vocab configs/experiments/leg_counting_qwen1.5b.yaml "
                       "model.reasoning_vocab_size=151646")
    assert "--model outputs/leg_counting_qwen1.5b/reasoning_vocab " in server
    assert trainer.endswith("model.reasoning_vocab_size=151646")
    plain = subprocess.run([sys.executable, "train_minimal.py", "configs/experiments/leg_counting_qwen1.5b.yaml",
                            "--print-launch"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert len(plain.stdout.strip().splitlines()) == 2 and "reasoning_vocab" not in plain.stdout


@pytest.mark.slow
def test_cpu_training_with_a_reasoning_vocabulary_saves_and_reloads_it(tmp_path, tokenizer):
    """The issue's check: train_minimal.py <config> model.reasoning_vocab_size=64 on CPU; the warm-up
    teaches the answer format, so the evaluations show whether answers still parse."""
    from transformers import AutoModelForCausalLM

    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "train_minimal.py", "configs/experiments/ultra_minimal_cpu.yaml", "model.reasoning_vocab_size=64",
         # full weights and the step's earlier shape: the saved checkpoint is a whole model with the grown rows
         "model.lora.enabled=false", "training.per_device_train_batch_size=16", "training.num_generations=4",
         "training.max_completion_length=32", "training.learning_rate=1e-6",
         "training.max_steps=2", "training.eval_steps=2", "data.num_eval_examples=8", "warmup.max_steps=12",
         "warmup.per_device_train_batch_size=4",  # the format is learned by the step count; CI time is the budget
         "training.log_completions=true", f"training.output_dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=1500, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads((out / "train_results.json").read_text())
    assert result["embedding_rows"] == len(tokenizer) + 64 and result["reasoning_vocab_size"] == 64
    config = json.loads((out / "final" / "config.json").read_text())
    assert config["vocab_size"] == len(tokenizer) + 64 and config[rv.CONFIG_KEY]["size"] == 64
    shares = [json.loads(line).get("reasoning_vocab/share") for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any(s is not None for s in shares), "reasoning_vocab/share was not logged"
    warmed = json.loads((out / "eval_results" / "eval_warmup.json").read_text())
    final = json.loads((out / "eval_results" / "eval_step_2.json").read_text())
    assert warmed["parse_failure_rate"] < 0.5 and final["parse_failure_rate"] < 0.5, (warmed, final)
    # the saved checkpoint reloads with the same size and evaluates the same way
    model = AutoModelForCausalLM.from_pretrained(out / "final", dtype=torch.float32)
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer) + 64
    again = subprocess.run([sys.executable, "-m", "rg_verifiers.reasoning_vocab", "eval", str(out / "final")],
                           cwd=ROOT, capture_output=True, text=True, timeout=900,
                           env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert again.returncode == 0, again.stderr[-3000:]
    report = json.loads(again.stdout)
    assert report["n"] == final["n"] and report["config"] == str(out / "config.yaml")
    assert report["accuracy"] == final["accuracy"] and report["parse_failure_rate"] == final["parse_failure_rate"]
    # llama.cpp cannot serve it: rgv eval says so in one line and names the command above
    refused = subprocess.run([sys.executable, "-m", "rg_verifiers.cli", "eval", "rg-chain-sum", "-m", str(out / "final"),
                              "-n", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "python -m rg_verifiers.reasoning_vocab eval" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_servers_refuse_an_expanded_checkpoint_in_one_line(tmp_path, tokenizer, monkeypatch):
    """llama.cpp (CPU) would print the new ids as [PAD<id>], vLLM (GPU) drops them from its text: `rgv eval`,
    `rgv serve` and `rgv bench` (either engine) name the evaluation that decodes them instead."""
    from rg_verifiers.bench import local_gpu, spec
    from rg_verifiers.export import inspect_checkpoint

    base = tmp_path / "base"
    tiny_model(tokenizer).save_pretrained(base)
    tokenizer.save_pretrained(base)
    folder = rv.prepare(str(base), 8, tmp_path / "run")
    with pytest.raises(rv.RGVError, match=r"python -m rg_verifiers.reasoning_vocab eval"):
        inspect_checkpoint(folder)
    for problem in (None, "no GPU"):  # vLLM available, or the CPU server
        monkeypatch.setattr(local_gpu, "local_serving_problem", lambda p=problem: p)
        with pytest.raises(rv.RGVError, match="reasoning vocabulary"):
            spec.place_checkpoints([spec.parse_model(folder)])
    assert spec.place_checkpoints([spec.parse_model(str(base))])  # a plain folder is still served


def test_other_ranks_wait_for_this_runs_checkpoint_not_an_earlier_one(tmp_path, tokenizer, monkeypatch):
    """Rank 1 must not take (or rewrite) a folder an earlier run left with another size: it waits for rank 0."""
    import threading

    from rg_verifiers.config import load_config
    from rg_verifiers.train.run import reasoning_vocab_stage

    base = tmp_path / "base"
    tiny_model(tokenizer).save_pretrained(base)
    tokenizer.save_pretrained(base)
    run = tmp_path / "run"
    rv.prepare(str(base), 8, run)  # the earlier run's
    assert rv.ready(str(base), 16, run) is None and rv.ready(str(base), 8, run) == str(run / "reasoning_vocab")
    cfg = load_config(ROOT / "configs/experiments/leg_counting_embedded_cpu.yaml",
                      ["model.reasoning_vocab_size=16", f"training.output_dir={run}"])
    monkeypatch.setenv("RANK", "1")
    got = {}
    waiter = threading.Thread(target=lambda: got.setdefault("path", reasoning_vocab_stage(cfg, str(base), None, poll_s=0.05)))
    waiter.start()
    waiter.join(1.0)
    assert waiter.is_alive(), "rank 1 took the earlier run's folder"
    rv.prepare(str(base), 16, run)  # what rank 0 writes
    waiter.join(30)
    assert got["path"] == str(run / "reasoning_vocab")
    assert rv.ReasoningVocab.of(got["path"]).size == 16
