"""How many of the paper's published questions reasoning-gym (the installed release) still builds.

For every task of rg-easy and rg-hard: the items of the environments' reasoning-gym items mode
(exactly create_dataset(name, seed, size, **params)) against the shipped hashes of the published
questions of the paper's o3-mini run, index by index. Prints a markdown table.

    .venv/bin/python scripts/suite_reproduction.py [rg-easy rg-hard]
"""

from __future__ import annotations

import logging
import sys

from rg_verifiers.data import TaskSpec
from rg_verifiers.suites import load_suite
from rg_verifiers.suites.items import rg_item_rows
from rg_verifiers.suites.paper import reproduced


def main(suites: list[str]) -> None:
    logging.disable(logging.WARNING)
    for name in suites:
        suite = load_suite(name)
        print(f"\n### {name}\n\n| category | task | rebuilt / published |\n|---|---|---|")
        total = [0, 0]
        for t in suite.tasks:
            try:
                rows = rg_item_rows(TaskSpec(t.name, config=dict(t.params)), t.seed, t.size)
                got = reproduced(name, t.name, {r["info"]["index"]: r["question"] for r in rows})
            except Exception as exc:  # report and go on: one broken generator must not hide the rest
                print(f"| {t.category} | {t.name} | generation failed: {type(exc).__name__}: {exc} |")
                continue
            if got is None:
                print(f"| {t.category} | {t.name} | not in the published run |")
                continue
            total[0] += got[0]
            total[1] += got[1]
            print(f"| {t.category} | {t.name} | {got[0]}/{got[1]} |", flush=True)
        print(f"\n{name}: {total[0]} of {total[1]} published questions rebuilt ({100 * total[0] / max(total[1], 1):.1f}%)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["rg-easy", "rg-hard"])
