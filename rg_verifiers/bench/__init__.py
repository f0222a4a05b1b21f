"""`rgv bench`: models x tasks on the same fixed eval items, crash-safe and resumable.

spec.py (what to run, CLI + YAML) -> runner.py (items, requests, scoring, results) with
store.py (per-pair rollout JSONL), endpoint.py (bounded, retried requests) and servers.py
(vLLM per GPU group for local HF models); local_gpu.py (can this machine serve HF models) sits
below spec.py and servers.py, which both ask. Results go through rg_verifiers.results, charts
through rg_verifiers.plotting.
"""

from .runner import BenchOutcome, run_bench
from .spec import BenchSpec, build_spec, parse_model

__all__ = ["BenchOutcome", "BenchSpec", "build_spec", "parse_model", "run_bench"]
