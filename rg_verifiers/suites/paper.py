"""The reasoning-gym paper's published zero-shot scores, as reference series beside your runs.

The figures ship in `data/paper_zero_shot.json` (written by scripts/extract_paper_scores.py from
open-thought/reasoning-gym-eval; its `source` names repository, path and commit). A paper run
becomes one series `paper: <model>` of ModelTaskResults, so every table and chart that takes
results takes the paper's too. The per-task score is the published mean over items of each
item's mean completion score (`dataset_mean_scores`), the number comparable with an accuracy
over rollouts; the paper's tables use the best of the item's completions, equal where a run
made one completion per item (every hard run, llama-4-scout's easy run).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Optional

from ..errors import RGVError, did_you_mean
from ..results import ModelTaskResult, RunInfo, wilson_interval
from .config import SUITE_NAMES

PREFIX = "paper: "
# published scores that do not measure what the task asks (shared/notes/reasoning-gym-paper-runs-2026-12.md)
NOT_COMPARABLE = {
    "game_of_life_halting": "its published scores are inflated by a scorer bug (any non-empty answer scored 1.0; "
                            "true means ≈0.71 easy, ≈0.46 hard vs 1.00 published); rg-verifiers scores it correctly",
}


@lru_cache(maxsize=1)
def paper_data() -> dict:
    path = resources.files("rg_verifiers.suites") / "data" / "paper_zero_shot.json"
    return json.loads(path.read_text(encoding="utf-8"))


def check_reference(name: str) -> str:
    if name not in SUITE_NAMES:
        raise RGVError(f"unknown reference {name!r}{did_you_mean(name, SUITE_NAMES)} (choose from {', '.join(SUITE_NAMES)})")
    return name


def source_line() -> str:
    src = paper_data()["source"]
    return f"{src['repository']} @ {src['commit'][:12]} ({src['path']})"


def paper_categories(suite: str) -> dict[str, str]:
    return dict(paper_data()["suites"][check_reference(suite)]["categories"])


def paper_runs(suite: str) -> list[dict]:
    return list(paper_data()["suites"][check_reference(suite)]["runs"])


def paper_results(suite: str, tasks: Optional[list[str]] = None, models: Optional[list[str]] = None) -> list[ModelTaskResult]:
    """One ModelTaskResult per (paper run, task), labelled `paper: <provider_model>`.

    n_examples is the published item count; n_rollouts items x completions per item, so the
    Wilson interval drawn is the one of the published mean over that many completions."""
    out = []
    wanted = set(tasks) if tasks is not None else None
    for run in paper_runs(suite):
        label = PREFIX + run["label"]
        if models is not None and run["label"] not in models and label not in models:
            continue
        k = int(run.get("completions_per_prompt") or 1)
        for task, score in (run.get("mean") or {}).items():
            if wanted is not None and task not in wanted:
                continue
            n_items = int(run["n"].get(task) or 50)
            n = n_items * k
            result = ModelTaskResult(model=label, task=task, n_examples=n_items, n_rollouts=n, accuracy=float(score),
                                     accuracy_ci95=wilson_interval(float(score) * n, n), mean_reward=float(score),
                                     parse_failure_rate=None,
                                     extra={"paper": {"suite": suite, "run": run["folder"], "best": (run.get("best") or {}).get(task),
                                                      "completions_per_prompt": k}})
            result.run = RunInfo(model=label, generation={"max_tokens": run.get("max_tokens"), "temperature": run.get("temperature"),
                                                          "top_p": run.get("top_p")},
                                 source=f"{paper_data()['source']['repository']}/{run['folder']}", kind="paper",
                                 group=f"paper:{suite}", label=label)
            out.append(result)
    return out


def add_reference(table, suite: str):
    """The table with the paper's series added for the tasks it already has (all of the suite's if empty)."""
    from ..results import ResultsTable

    tasks = table.tasks or None
    for r in paper_results(suite, tasks):
        table.add(r, r.model)
    if isinstance(table, ResultsTable):
        table.notes.extend(caveats(suite, table.tasks))
    return table


def caveats(suite: str, tasks: Optional[list[str]] = None) -> list[str]:
    """What makes the paper's numbers and yours differ, one line each."""
    runs = paper_runs(suite)
    temps = sorted({r.get("temperature") for r in runs if r.get("temperature") is not None})
    tokens = sorted({r.get("max_tokens") for r in runs if r.get("max_tokens") is not None})
    ks = sorted({r.get("completions_per_prompt") for r in runs})
    lines = [
        f"reference {suite}: the reasoning-gym paper's published zero-shot scores ({source_line()})",
        f"the paper sampled with temperature {', '.join(map(str, temps))}, top_p 0.95, max_tokens {', '.join(map(str, tokens))} "
        f"and {'/'.join(map(str, ks))} completion(s) per item via OpenRouter; your runs' settings are in the report — "
        f"a different max_tokens or temperature moves scores, especially of reasoning models",
        "paper series show the published mean score per item (dataset_mean_scores); the paper's tables use the best of "
        "an item's completions (equal for 1 completion per item)",
        "the paper used an older reasoning-gym: some items differ from 0.1.25's (see reproduced published questions per task), "
        "and 0.1.25's scorers differ on ~2% of completions",
    ]
    for task, why in NOT_COMPARABLE.items():
        if tasks is None or task in tasks:
            lines.append(f"{task}: {why}")
    for c in paper_data().get("corrections") or []:
        if c["suite"] == suite and (tasks is None or c["task"] in tasks):
            lines.append(f"{c['task']}: the published {c['run'].rsplit('_', 2)[0]} score {c['published_mean']} is outside [0, 1]; "
                         f"drawn as {c['used_mean']:.3f}, the mean of its published per-item scores")
    return lines


def published_question_hashes(suite: str) -> dict[str, list[str]]:
    return dict(paper_data()["suites"][check_reference(suite)]["questions"].get("sha256_16") or {})


def reproduced(suite: str, task: str, questions) -> Optional[tuple[int, int]]:
    """(published questions equal to ours at the same index, published questions asked) or None when
    the paper did not run the task. `questions`: ours in index order, or {index: question} (items
    reasoning-gym could not generate are absent and count as not rebuilt)."""
    import hashlib

    published = published_question_hashes(suite).get(task)
    if published is None:
        return None
    ours = questions if isinstance(questions, dict) else dict(enumerate(questions))
    asked = [i for i in range(len(published)) if i <= max(ours, default=-1)]
    same = sum(1 for i in asked if i in ours and hashlib.sha256(ours[i].encode("utf-8")).hexdigest()[:16] == published[i])
    return same, len(asked)


def reproduced_items(suite: str, questions: dict[str, dict[int, str]]) -> dict[str, tuple[int, int]]:
    """Per task of a shipped suite: (published questions rebuilt at their index, published questions
    up to the last index asked); {} for a suite file of your own."""
    if suite not in SUITE_NAMES:
        return {}
    out = {}
    for task, qs in questions.items():
        got = reproduced(suite, task, qs)
        if got is not None:
            out[task] = got
    return out


def reproduction_notes(suite: str, counts: dict[str, tuple[int, int]]) -> list[str]:
    """One line for the suite, one more naming the tasks whose published questions were not all rebuilt."""
    if not counts:
        return []
    got, total = sum(k for k, _ in counts.values()), sum(n for _, n in counts.values())
    short = [f"{t} {k}/{n}" for t, (k, n) in counts.items() if k < n]
    lines = [f"{suite}: reasoning-gym {_rg_version()} rebuilt {got} of the {total} published questions asked "
             f"({len(counts) - len(short)} of {len(counts)} tasks in full)"]
    if short:
        lines.append("published questions rebuilt, where not all: " + ", ".join(short))
    return lines


def _rg_version() -> str:
    import reasoning_gym

    return getattr(reasoning_gym, "__version__", "?")
