"""Hostile completions on all 105 tasks: nothing runs, nothing hangs, every score in [0, 1]."""

import os
import time
from pathlib import Path

import pytest

from fake_openai import HOSTILE
from rg_verifiers.data import TaskSpec, build_split
from rg_verifiers.protocol import parse_answer
from rg_verifiers.scoring import STATUSES, Scorer
from rg_verifiers.tasks import task_names

pytestmark = pytest.mark.slow
EXTRA = [f"__import__('os').system('touch {{marker}}')", "open('{marker}', 'w').write('x')",
         "__import__('pathlib').Path('{marker}').touch()"]


def test_hostile_answers_on_every_task(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED_marker"
    payloads = HOSTILE + [p.format(marker=marker) for p in EXTRA]
    scorer = Scorer(mode="auto", workers=2, timeout_s=5)
    items, labels = [], []
    try:
        for task in task_names():
            rows, _ = build_split([TaskSpec(task)], "eval", 1, seed=0)
            info = rows[0]["info"]
            for k, payload in enumerate(payloads):
                answer = parse_answer([{"role": "assistant", "content": f"thinking...<answer>{payload}</answer>"}])
                items.append((task, info["config"], info["entry"], answer))
                labels.append((task, k))
        t0 = time.monotonic()
        results = scorer.score_many(items)
        elapsed = time.monotonic() - t0
        bad = [(lab, r) for lab, r in zip(labels, results) if not 0.0 <= r.score <= 1.0 or r.status not in STATUSES]
        assert not bad, bad[:5]
        assert not marker.exists() and not list(tmp_path.rglob("PWN*"))
        for w in scorer.pool.workers:
            assert not [f for f in os.listdir(w.scratch) if f.startswith("PWN")]
        assert not list(Path.home().glob("PWN*")) and not list(Path("/tmp").glob("PWN*"))
        # each hang costs at most the per-item limit: no unbounded wait
        timeouts = sum(r.status == "timeout" for r in results)
        assert elapsed < 120 + 5 * timeouts, (elapsed, timeouts)
        # a code-injection payload gets at most the scorers' own floor (0.01) or substring partial
        # credit (base scorer: len(gold)/len(answer)), never a real score
        injection = {0, 1, 10, 11, len(HOSTILE), len(HOSTILE) + 1, len(HOSTILE) + 2}
        scored = [(lab, r) for lab, r in zip(labels, results) if lab[1] in injection and r.score > 0.1]
        assert not scored, scored[:10]
    finally:
        scorer.close()
