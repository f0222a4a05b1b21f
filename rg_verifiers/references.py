"""A gold answer for every entry that has one, used by the gold round-trip check.

Five tasks have `answer=None` and are scored by a verifier. Three keep a reference solution in
their metadata; boxnet and rush_hour keep none (only constraints / the minimum move count), so
their gold round trip cannot be checked. rubiks_cube stores a solution only for 3x3 cubes
(level 0); for larger cubes `example_correct_answer` is "" and the reference is the scramble
undone (scored with the fixed move parser of scoring/overrides.py: upstream's drops layer moves).
"""

from __future__ import annotations

import json
from typing import Any

def inverse_cube_moves(moves: str) -> str:
    """The scramble undone: moves reversed, each one inverted (X <-> X', a half turn X2 is its own inverse)."""
    def inverse(m: str) -> str:
        return m[:-1] if m.endswith("'") else m if m.endswith("2") else m + "'"

    return " ".join(inverse(m) for m in reversed(moves.split()))


METADATA_REFERENCES = {
    "graph_color": lambda m: json.dumps(m["possible_answer"]),
    "propositional_logic": lambda m: m["example_answer"],
    # 3x3: the solver's solution; larger cubes store none ("") and the inverse scramble is one
    "rubiks_cube": lambda m: m["example_correct_answer"] or inverse_cube_moves(m["scramble_moves"]),
}
NO_REFERENCE = {
    "boxnet": "no reference plan is stored in the metadata",
    "rush_hour": "only the minimum move count is stored, not a solution",
}


# levels whose items carry no usable reference (the gold round trip skips them, counted)
NO_REFERENCE_LEVELS = {
    "jugs": 'some items store \'["No solution"]\' (NOT_A_SOLUTION), which reasoning-gym scores 0',
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
        return METADATA_REFERENCES[task](entry["metadata"]) or None
    return None


def reference_note(task: str) -> str:
    if task in NO_REFERENCE:
        return f"none ({NO_REFERENCE[task]}); scored by the task's verifier"
    if task in METADATA_REFERENCES:
        return "none in `answer`; a reference solution from the metadata is used for checks"
    return "`answer` column"
