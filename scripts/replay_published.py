"""Replay the paper's published responses through `rgv bench --suite` and compare the scores.

For the chosen tasks of a suite, the first completion of every published item (the o3-mini run
by default) is served by a local fake endpoint for its question; `rgv bench --suite` asks the
items (reasoning-gym's own, rebuilt), and each rollout's score is compared with reasoning-gym's
own `score_answer(extract_answer(response), entry)` on the rebuilt entry, and with the published
score. Only items whose question was rebuilt can be asked.

    git clone https://github.com/open-thought/reasoning-gym-eval /tmp/rg-eval
    .venv/bin/python scripts/replay_published.py /tmp/rg-eval rg-hard leg_counting countdown ...
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
RUN = {"rg-easy": "openai_o3-mini_20250315_181742", "rg-hard": "openai_o3-mini_20250414_163909"}


def published(repo: Path, suite: str, category: str, task: str) -> dict:
    rel = f"reasoninggym-paper-experiments/zero-shot/{suite.removeprefix('rg-')}/{RUN[suite]}/{category}/{task}.json"
    if (repo / rel).is_file():
        return json.loads((repo / rel).read_text())
    return json.loads(subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{rel}"], capture_output=True, text=True, check=True).stdout)


def main(repo: Path, suite_name: str, tasks: list[str]) -> None:
    import reasoning_gym
    from fake_openai import FakeOpenAI
    from reasoning_gym.utils import extract_answer

    from rg_verifiers.suites import load_suite

    suite = load_suite(suite_name).select(tasks)
    responses, theirs, pub = {}, {}, {}
    for t in suite.tasks:
        doc = published(repo, suite_name, t.category, t.name)
        ds = reasoning_gym.create_dataset(t.name, seed=t.seed, size=t.size, **t.params)
        entries = list(ds)
        for i, item in enumerate(doc["results"]):
            if i < len(entries) and entries[i]["question"] == item["question"]:
                c = (item.get("completions") or [{}])[0]
                text = c.get("full_model_response") or item.get("best_full_model_response") or ""
                responses[item["question"]] = text
                theirs[(t.name, i)] = ds.score_answer(extract_answer(text), entries[i])
                pub[(t.name, i)] = c.get("score", item.get("best_score"))

    class Replay(FakeOpenAI):
        def reply(self, model, messages):
            return responses.get(messages[-1]["content"], "no published response for this item")

    with tempfile.TemporaryDirectory() as tmp, Replay({}) as fake:
        subprocess.run([str(Path(sys.executable).parent / "rgv"), "bench", "--suite", suite_name, "--tasks", *tasks, "--models",
                        f"replay=gold@{fake.base_url}", "-o", f"{tmp}/out", "--no-plot"], check=True, capture_output=True)
        ours = {}
        for t in suite.tasks:
            for line in Path(f"{tmp}/out/rollouts/replay__{t.name}.jsonl").read_text().splitlines():
                row = json.loads(line)
                ours[(t.name, row["example_id"])] = row["correct"]
    print("| task | items replayed | = reasoning-gym 0.1.25's score | = published score |\n|---|---|---|---|")
    for t in suite.tasks:
        keys = [k for k in theirs if k[0] == t.name]
        same = sum(1 for k in keys if abs(ours[k] - theirs[k]) < 1e-9)
        same_pub = sum(1 for k in keys if pub[k] is not None and abs(ours[k] - float(pub[k])) < 1e-9)
        print(f"| {t.name} | {len(keys)} | {same}/{len(keys)} | {same_pub}/{len(keys)} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])
