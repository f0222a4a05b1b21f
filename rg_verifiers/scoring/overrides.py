"""Scorers that reasoning-gym 0.1.25 gets wrong, replaced with tested fixes.

Each override names the bug, and tests/test_overrides.py shows the upstream scorer failing
and the override passing.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable


def _game_of_life_halting(answer: str | None, entry: dict[str, Any]) -> float:
    # Upstream compares bool(answer) == bool(entry["answer"]); gold is "True"/"False", a
    # non-empty string, so every non-empty answer scored 1.0.
    if answer is None:
        return 0.0
    return 1.0 if answer.strip().lower() == str(entry["answer"]).strip().lower() else 0.0


_MOVE = re.compile(r"^(\d*)(\D+?)(\d*)$")  # [layer]move[repeat], e.g. 2B, 1Rw', R2


def _expand_cube_moves(move_str: str) -> str:
    # Upstream's pattern ^([^\d]*)(\d*)$ has no room for a leading layer number, so every layer move
    # of a 4x4+ cube (2B, 1Rw') was silently dropped: no answer could solve those cubes. The same
    # expansion (a trailing count repeats the move), with the layer kept.
    expanded = []
    for move in move_str.split():
        match = _MOVE.fullmatch(move)
        if match:
            layer, base, count = match.groups()
            expanded += [layer + base] * (int(count) if count else 1)
    return " ".join(expanded)


@functools.cache
def _rubiks_scorer():
    from reasoning_gym.cognition.rubiks_cube import RubiksCubeConfig, RubiksCubeDataset

    class Fixed(RubiksCubeDataset):
        def expand_moves(self, move_str):
            return _expand_cube_moves(move_str)

    # score_answer reads only the entry (cube size, scramble); the instance's own config is unused
    return Fixed(RubiksCubeConfig(size=1, seed=0))


def _rubiks_cube(answer: str | None, entry: dict[str, Any]) -> float:
    return _rubiks_scorer().score_answer(answer, entry)


OVERRIDES: dict[str, Callable[[str | None, dict[str, Any]], float]] = {
    "game_of_life_halting": _game_of_life_halting,
    "rubiks_cube": _rubiks_cube,
}
