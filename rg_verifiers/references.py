"""A gold answer for every entry that has one, used by the gold round-trip check.

Five tasks have `answer=None` and are scored by a verifier. Three keep a reference solution in
their metadata; boxnet and rush_hour keep none (only constraints / the minimum move count), so
their gold round trip cannot be checked. rubiks_cube stores a solution only for 3x3 cubes
(level 0): for larger cubes `example_correct_answer` is "" and no correct answer can even be
written, since its scorer's move parser drops layer moves such as `2B` that the scrambles use.
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


# levels whose items carry no usable reference (the gold round trip skips them, counted)
NO_REFERENCE_LEVELS = {
    "jugs": 'some items store \'["No solution"]\' (NOT_A_SOLUTION), which reasoning-gym scores 0',
    "rubiks_cube": "cube_size > 3 (levels 1-4): no stored solution, and reasoning-gym's move parser "
                   "cannot express the layer moves (`2B`, `3Rw`) a solution needs",
}


# stored answers that are not solutions: jugs' generator stores '["No solution"]' when its
# search gives up (seen at difficulty 1: 4 jugs, target reachable in 22 moves); reasoning-gym
# itself scores that gold 0, so such items have no reference
NOT_A_SOLUTION = {"jugs": {'["No solution"]'}}


def reference_answer(task: str, entry: dict[str, Any]) -> str | None:
    if entry.get("answer") is not None:
        if str(entry["answer"]) in NOT_A_SOLUTION.get(task, ()):
            return None
        return str(entry["answer"])
    if task in METADATA_REFERENCES:
        return METADATA_REFERENCES[task](entry["metadata"]) or None  # rubiks_cube > 3x3: ""
    return None


def reference_note(task: str) -> str:
    if task in NO_REFERENCE:
        return f"none ({NO_REFERENCE[task]}); scored by the task's verifier"
    if task in METADATA_REFERENCES:
        return "none in `answer`; a reference solution from the metadata is used for checks"
    return "`answer` column"
