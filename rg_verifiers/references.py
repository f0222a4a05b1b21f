"""A gold answer for every entry that has one, used by the gold round-trip check.

Five tasks have `answer=None` and are scored by a verifier. Three keep a reference solution in
their metadata; boxnet and rush_hour keep none (only constraints / the minimum move count), so
their gold round trip cannot be checked.
"""

from __future__ import annotations

import json
from typing import Any

METADATA_REFERENCES = {
    "graph_color": lambda m: json.dumps(m["possible_answer"]),
    "propositional_logic": lambda m: m["example_answer"],
    "rubiks_cube": lambda m: m["example_correct_answer"],
}
NO_REFERENCE = {
    "boxnet": "no reference plan is stored in the metadata",
    "rush_hour": "only the minimum move count is stored, not a solution",
}


def reference_answer(task: str, entry: dict[str, Any]) -> str | None:
    if entry.get("answer") is not None:
        return str(entry["answer"])
    if task in METADATA_REFERENCES:
        return METADATA_REFERENCES[task](entry["metadata"])
    return None


def reference_note(task: str) -> str:
    if task in NO_REFERENCE:
        return f"none ({NO_REFERENCE[task]}); scored by the task's verifier"
    if task in METADATA_REFERENCES:
        return "none in `answer`; a reference solution from the metadata is used for checks"
    return "`answer` column"
