"""One evaluation truth: the same items, model and settings give the same completions and scores
whichever of `rgv eval`, `vf-eval` and `rgv bench` runs them, on a real llama.cpp server (the
embedded model), and `-t N` caps completions at N tokens on every path.

Before the shared generation settings, llama.cpp ignored verifiers' `max_completion_tokens`
(hundreds of tokens at `-t 8`) and `rgv eval` sampled at the server's temperature 0.8."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
N = 3


@pytest.fixture(scope="module")
def server():
    from rg_verifiers.serve import served

    with served("embedded") as s:
        yield s


def _run(tool, *args, cwd: Path):
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=900,
                          env=dict(os.environ, OPENAI_API_KEY="unused"))
    assert done.returncode == 0, f"{tool} {args}: {done.stderr[-3000:]}"
    return done


def _vf_rows(folder: Path) -> dict[int, tuple]:
    (results,) = folder.glob("outputs/evals/*/*/results.jsonl")
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return {r["example_id"]: (r["completion"][-1]["content"], r["reward"], r.get("completion_tokens")) for r in rows}


def three_paths(tmp: Path, server, max_tokens: int, temperature: float | None = None, seed: int | None = None) -> dict:
    """Completion, reward and completion tokens per example, from each command."""
    env_args = {"num_eval_examples": N, **({"seed": seed} if seed is not None else {})}
    sampling = (["-T", temperature] if temperature is not None else [])
    common = ["-b", server.base_url, "-m", server.model, "-n", N, "-t", max_tokens, *sampling]
    _run("rgv", "eval", "leg_counting", *common, "-a", json.dumps(env_args), "--samples", 0,
         *(["--seed", seed] if seed is not None else []), cwd=tmp / "eval")
    # vf-eval: -r 1 (its default is 3); -C saves the token counts the environment records
    _run("vf-eval", "rg-leg-counting", *common, "-r", 1, "-a", json.dumps(env_args), "-s", "-C", "completion_tokens",
         *(["-S", json.dumps({"seed": seed})] if seed is not None else []), cwd=tmp / "vf")
    # bench: a NAME=URL label; its --seed is both the items' and the sampling seed
    _run("rgv", "bench", "--models", f"local={server.base_url}", "--tasks", "leg_counting", "-n", N, "-t", max_tokens,
         *sampling, *(["--seed", seed] if seed is not None else []), "-o", tmp / "bench", "--no-plot", cwd=tmp)
    bench = [json.loads(line) for line in (tmp / "bench" / "rollouts" / "local__leg_counting.jsonl").read_text().splitlines()]
    return {"rgv eval": _vf_rows(tmp / "eval"), "vf-eval": _vf_rows(tmp / "vf"),
            "rgv bench": {r["example_id"]: (r["completion"], r["reward"], r["completion_tokens"]) for r in bench}}


# greedy; the server evaluates each request from an empty KV cache (tests/test_serve.py), so the order in which
# the three commands send their requests cannot change a completion
@pytest.mark.parametrize("max_tokens,temperature,seed", [(8, None, None)], ids=["greedy-t8"])
def test_same_item_same_completion_and_score_on_every_path(tmp_path, server, max_tokens, temperature, seed):
    runs = three_paths(tmp_path, server, max_tokens, temperature, seed)
    for name, rows in runs.items():
        assert sorted(rows) == list(range(N)), name
        assert all(tokens is not None and 0 < tokens <= max_tokens for _, _, tokens in rows.values()), (name, rows)
    reference = runs["rgv bench"]
    for name in ("rgv eval", "vf-eval"):
        for ex in range(N):
            assert runs[name][ex][:2] == reference[ex][:2], (name, ex, runs[name][ex], reference[ex])
    if max_tokens == 8:  # the cap is what stopped the 135M model, which rambles for hundreds of tokens unasked
        assert any(tokens == max_tokens for _, _, tokens in reference.values()), reference
