"""Regenerate docs/img/report_example.png: `rgv report --html --reference rg-easy` on a small
benchmark against a fake endpoint, screenshotted in headless Chromium.

The fake "model" answers a deterministic ~2/3 of the items correctly (the reference answer) and
the rest wrongly, so the page shows both kinds of samples; nothing here is a real model's score.

    .venv/bin/python scripts/report_example.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
RGV = str(Path(sys.executable).parent / "rgv")
TASKS = ["leg_counting", "basic_arithmetic", "chain_sum", "word_sorting", "letter_counting", "spell_backward",
         "simple_equations", "family_relationships"]


def main() -> None:
    import reasoning_gym
    from fake_openai import FakeOpenAI

    from rg_verifiers.browser import screenshot
    from rg_verifiers.references import reference_answer
    from rg_verifiers.suites import load_suite

    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", type=Path, help="keep the benchmark folder and page here")
    args = ap.parse_args()

    class Mixed(FakeOpenAI):
        def reply(self, model, messages):
            question = messages[-1]["content"]
            gold = self.references.get(question, "")
            if int(hashlib.sha256(f"{model}:{question}".encode()).hexdigest(), 16) % 3:
                return f"Working through it step by step.\n<answer>{gold}</answer>"
            return f"I think it is this.\n<answer>{gold}0</answer>"

    work = args.keep or Path(tempfile.mkdtemp(prefix="rgv-report-example-"))
    refs = {}
    for t in (x for x in load_suite("rg-easy").tasks if x.name in TASKS):
        for e in reasoning_gym.create_dataset(t.name, seed=t.seed, size=10, **t.params):
            refs[e["question"]] = reference_answer(t.name, e) or ""
    with Mixed(refs) as fake:
        subprocess.run([RGV, "bench", "--suite", "rg-easy", "--tasks", *TASKS, "-n", "10", "--models",
                        f"my-model=gold@{fake.base_url}", "--no-plot", "-o", str(work / "bench")], check=True)
    page = work / "report.html"
    subprocess.run([RGV, "report", str(work / "bench"), "--html", str(page), "--reference", "rg-easy",
                    "--title", "Example: my-model on a slice of rg-easy (fake endpoint)"], check=True)
    out = screenshot(page, ROOT / "docs" / "img" / "report_example.png", width=1280, height=2400)
    print(f"wrote {out}\npage: {page}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
