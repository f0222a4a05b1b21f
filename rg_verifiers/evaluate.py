"""Evaluate any verifiers environment against an OpenAI-compatible endpoint.

Same code path as `vf-eval -s` (env.evaluate + verifiers' own save_rollout_results), so the
output folder is a vf-eval results folder: <output_dir>/evals/<env>--<model>/<id>/
{results.jsonl, metadata.json}.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from .errors import RGVError


def run_eval(env_id: str, model: str, base_url: str, env_args: dict | None = None, num_examples: int = 20,
             rollouts_per_example: int = 1, max_tokens: int | None = 512, temperature: float | None = None,
             max_concurrent: int = 8, output_dir: str | Path = "outputs", api_key_var: str = "OPENAI_API_KEY") -> Path:
    import verifiers as vf
    from openai import AsyncOpenAI
    from verifiers.utils.eval_utils import save_rollout_results
    from verifiers.utils.path_utils import get_results_path

    logging.getLogger("verifiers").setLevel(os.environ.get("VF_LOG_LEVEL", "WARNING"))
    env = vf.load_environment(env_id, **(env_args or {}))
    if env is None:
        raise RGVError(f"environment {env_id!r} is not installed (pip install {env_id}, or run ./setup.sh)")
    client = AsyncOpenAI(base_url=base_url, api_key=os.environ.get(api_key_var, "EMPTY"), max_retries=3, timeout=3600)
    sampling = {k: v for k, v in {"max_tokens": max_tokens, "temperature": temperature}.items() if v is not None}
    path = get_results_path(env_id, model, Path(output_dir))
    results = asyncio.run(env.evaluate(client=client, model=model, sampling_args=sampling, num_examples=num_examples,
                                       rollouts_per_example=rollouts_per_example, max_concurrent=max_concurrent,
                                       results_path=path))
    results["metadata"]["path_to_save"] = path
    save_rollout_results(results)
    return path
