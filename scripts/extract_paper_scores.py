"""Build rg_verifiers/suites/data/paper_zero_shot.json from a clone of the reasoning-gym-eval repository.

Figures only: per run and task the published mean/best score and item count, the task's category,
and (for one run per suite) a 16-hex sha256 of each published question, so `rgv bench --suite`
can say how many published questions reasoning-gym's current release still generates.

    git clone https://github.com/open-thought/reasoning-gym-eval /tmp/rg-eval
    python scripts/extract_paper_scores.py /tmp/rg-eval
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = "reasoninggym-paper-experiments/zero-shot"
QUESTION_RUN = "openai_o3-mini"  # the run whose question texts are hashed, per suite
OUT = Path(__file__).resolve().parents[1] / "rg_verifiers" / "suites" / "data" / "paper_zero_shot.json"


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def read_blobs(repo: str, paths: list[str]) -> dict[str, dict]:
    """path -> parsed JSON, through one `git cat-file --batch` (works on bare mirrors too)."""
    proc = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = {}
    for path in paths:
        proc.stdin.write(f"HEAD:{path}\n".encode())
        proc.stdin.flush()
        header = proc.stdout.readline().decode().split()
        if len(header) < 3 or header[1] != "blob":
            continue  # missing from this copy (large-file pointer not fetched)
        body = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)
        try:
            out[path] = json.loads(body)
        except ValueError:
            pass
    proc.stdin.close()
    proc.wait()
    return out


def question_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def main(repo: str) -> None:
    commit = git(repo, "rev-parse", "HEAD").strip()
    files = git(repo, "ls-tree", "-r", "--name-only", "HEAD", ROOT).split()
    doc = {
        "source": {
            "repository": "https://github.com/open-thought/reasoning-gym-eval",
            "path": ROOT + "/{easy,hard}/<run>/summary.json and <category>/<task>.json",
            "commit": commit,
            "what": "published per-task zero-shot scores of the reasoning-gym paper's runs (figures only); "
                    "mean = average over items of the mean score of the item's completions, best = of its best",
        },
        "suites": {},
    }
    for level in ("easy", "hard"):
        runs = sorted({f.split("/")[3] for f in files if f.startswith(f"{ROOT}/{level}/")})
        suite = {"runs": [], "categories": {}, "questions": {}}
        for run in runs:
            summary_path = f"{ROOT}/{level}/{run}/summary.json"
            task_files = [f for f in files if f.startswith(f"{ROOT}/{level}/{run}/") and f.count("/") == 5 and f.endswith(".json")]
            blobs = read_blobs(repo, [summary_path, *task_files])
            summary = blobs[summary_path]
            label = run.rsplit("_", 2)[0]  # provider_model; the folder, not summary["model"] (grok's says o3-mini)
            n, hashes, item_means = {}, {}, {}
            for path in task_files:
                task_doc = blobs.get(path)
                category, task = path.split("/")[4], Path(path).stem
                suite["categories"].setdefault(task, category)
                if task_doc is None:
                    continue
                n[task] = task_doc.get("total_examples")
                results = task_doc.get("results") or []
                if results:
                    item_means[task] = (sum(float(r.get("mean_score", r.get("score", 0.0)) or 0.0) for r in results) / len(results),
                                        sum(float(r.get("best_score", r.get("score", 0.0)) or 0.0) for r in results) / len(results))
                if run.startswith(QUESTION_RUN):
                    hashes[task] = [question_hash(r["question"]) for r in task_doc.get("results", [])]
            mean, best = dict(summary.get("dataset_mean_scores") or {}), dict(summary.get("dataset_best_scores") or {})
            for task in list(mean):
                # a published average outside [0, 1] (grok-3-mini's hard bf: 59.42 over items that all scored 0)
                # is replaced by the mean of the task file's per-item scores, and the change recorded
                if not 0.0 <= float(mean[task]) <= 1.0 and task in item_means:
                    doc.setdefault("corrections", []).append({
                        "suite": f"rg-{level}", "run": run, "task": task, "published_mean": mean[task], "published_best": best.get(task),
                        "used_mean": item_means[task][0], "used_best": item_means[task][1],
                        "why": "published average outside [0, 1]; recomputed from the task file's per-item scores"})
                    mean[task], best[task] = item_means[task]
            suite["runs"].append({
                "label": label, "folder": run, "summary_model": summary.get("model"),
                "timestamp": summary.get("timestamp"), "git_hash": summary.get("git_hash"),
                "completions_per_prompt": summary.get("completions_per_prompt"),
                "max_tokens": summary.get("max_tokens"), "temperature": summary.get("temperature"),
                "top_p": summary.get("top_p"), "system_prompt": summary.get("system_prompt"),
                "mean": mean, "best": best, "n": n,
            })
            if hashes:
                suite["questions"] = {"run": run, "sha256_16": hashes}
        doc["suites"][f"rg-{level}"] = suite
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
