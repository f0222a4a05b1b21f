"""Fixed-set evaluation during training: eval_results/eval_step_<N>.json.

The eval rows are the environment's eval split (same prompts, same parser, same scorer as
vf-eval), generated greedily by the policy being trained.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Callable, Sequence

from ..rewards import score_results

Generate = Callable[[Sequence[list[dict]]], list[str]]


def evaluate_rows(rows: Sequence[dict], generate: Generate, step: int, stage: str = "grpo") -> dict:
    """`stage`: "baseline" (the model before any training), "warmup" (right after the warm-up,
    before GRPO step 1) or "grpo" (after GRPO step `step`)."""
    prompts = [r["prompt"] for r in rows]
    texts = generate(prompts)
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    infos = [r["info"] for r in rows]
    results = score_results(completions, infos)
    per_task: dict[str, list] = defaultdict(list)
    for info, r in zip(infos, results):
        per_task[info["rg_task"]].append(r)

    def summary(rs) -> dict:
        return {"n": len(rs), "accuracy": statistics.fmean(r.score for r in rs),
                "parse_failure_rate": statistics.fmean(r.status == "parse_failure" for r in rs)}

    return {"step": step, "stage": stage, **summary(results), "per_task": {t: summary(rs) for t, rs in sorted(per_task.items())},
            "samples": [{"task": i["rg_task"], "completion": t, "score": r.score} for i, t, r in list(zip(infos, texts, results))[:3]]}


def write_eval(out_dir: str | Path, report: dict) -> Path:
    folder = Path(out_dir) / "eval_results"
    folder.mkdir(parents=True, exist_ok=True)
    name = "eval_warmup.json" if report.get("stage") == "warmup" else f"eval_step_{report['step']}.json"
    path = folder / name
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, path)
    return path


def hf_generate(model, tokenizer, max_new_tokens: int, batch_size: int = 8) -> Generate:
    """Greedy generation with a transformers model (the TRL/CPU backend)."""
    import torch

    from ..reasoning_vocab import activate

    activate(model, tokenizer)  # an expanded model: the span rule, and mirrors decoded

    def generate(prompts):
        was_training = model.training
        model.eval()
        side, tokenizer.padding_side = tokenizer.padding_side, "left"
        texts = []
        try:
            with torch.no_grad():
                for k in range(0, len(prompts), batch_size):
                    chats = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts[k:k + batch_size]]
                    enc = tokenizer(chats, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
                    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                         pad_token_id=tokenizer.pad_token_id)
                    texts += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        finally:
            tokenizer.padding_side = side
            model.train(was_training)
        return texts

    return generate


def openai_generate(base_url: str, model: str, max_tokens: int, concurrency: int = 32, reasoning=None) -> Generate:
    """Greedy generation through an OpenAI-compatible server (vf-vllm holds the synced weights).

    `reasoning` = (ReasoningVocab, tokenizer) of an expanded model: texts are decoded from the returned
    token ids with mirrors (the server's tokenizer drops the reasoning ids)."""
    from concurrent.futures import ThreadPoolExecutor

    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY", "EMPTY"), max_retries=3)

    def one(messages):
        from openai import OpenAIError

        from ..errors import RGVError

        try:
            extra = {"extra_body": {"return_token_ids": True}} if reasoning else {}
            r = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens, temperature=0.0,
                                               **extra)
        except OpenAIError as e:
            raise RGVError(f"evaluation request to {base_url} for {model!r} failed: {' '.join(str(e).split())[:500]}") from None
        if reasoning:
            from ..reasoning_vocab import restore_response

            restore_response(r, *reasoning)
        return r.choices[0].message.content or ""

    def generate(prompts):
        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, prompts))

    return generate
