import dataclasses
import os
import time

from reasoning_gym.factory import create_dataset

from rg_verifiers import serialization
from rg_verifiers.scoring import Scorer


def item(task, answer, seed=1):
    ds = create_dataset(task, size=3, seed=seed)
    cfg = serialization.dumps({f.name: getattr(ds.config, f.name) for f in dataclasses.fields(ds.config)})
    return (task, cfg, serialization.dumps(ds[0]), answer), ds[0]


def test_code_injection_runs_nowhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    scorer = Scorer(mode="sandbox", workers=1, timeout_s=5)
    try:
        payloads = [f"__import__('os').system('touch {marker}')", f"open('{marker}', 'w')",
                    f"[open('{marker}','w') for _ in [1]]"]
        for task in ("spiral_matrix", "binary_matrix", "n_queens", "string_insertion", "countdown", "puzzle24",
                     "simple_integration", "polynomial_multiplication"):
            for p in payloads:
                r = scorer.score_one(item(task, p)[0])
                assert r.score == 0.0
        assert not marker.exists()
        assert not any(scratch for w in scorer.pool.workers for scratch in os.listdir(w.scratch))
    finally:
        scorer.close()


def test_hang_becomes_timeout_and_worker_restarts():
    scorer = Scorer(mode="sandbox", workers=1, timeout_s=2)
    try:
        (gold_item, entry) = item("countdown", None)
        hang = gold_item[:3] + ("((9**999)**999)**99",)  # passes the guard; only the time limit stops it
        t = time.monotonic()
        results = scorer.score_many([hang, gold_item[:3] + (entry["answer"],)])
        assert results[0].status == "timeout" and results[0].score == 0.0
        assert results[1].score == 1.0  # the restarted worker scores the rest of the batch
        assert time.monotonic() - t < 30
        assert scorer.pool.restarts == 1
    finally:
        scorer.close()


def test_dead_worker_becomes_crashed_not_exception():
    scorer = Scorer(mode="sandbox", workers=1, timeout_s=5)
    try:
        it, entry = item("leg_counting", None)
        assert scorer.score_one(it[:3] + (entry["answer"],)).score == 1.0
        scorer.pool.workers[0].proc.kill()
        scorer.pool.workers[0].proc.wait()
        r = scorer.score_one(it[:3] + (entry["answer"],))
        assert r.status in ("crashed", "ok")  # died before the request, or restarted in time
        assert scorer.score_one(it[:3] + (entry["answer"],)).score == 1.0
    finally:
        scorer.close()


def test_failures_are_statuses():
    scorer = Scorer(mode="auto", workers=1, timeout_s=5)
    try:
        it, _ = item("prime_factorization", None)
        assert scorer.score_one(it[:3] + ("37 and junk",)).status == "error"
        assert scorer.score_one(it[:3] + (None,)).status == "parse_failure"
        it, _ = item("leg_counting", None)
        assert scorer.score_one(it[:3] + ("9" * 30_000,)).status == "rejected"
        it, _ = item("countdown", None)
        assert scorer.score_one(it[:3] + ("1e999999",)).status == "rejected"
    finally:
        scorer.close()
