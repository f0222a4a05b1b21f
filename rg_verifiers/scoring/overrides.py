"""Scorers that reasoning-gym 0.1.25 gets wrong, replaced with tested fixes.

Each override names the bug, and tests/test_overrides.py shows the upstream scorer failing
and the override passing.
"""

from __future__ import annotations

from typing import Any, Callable


def _game_of_life_halting(answer: str | None, entry: dict[str, Any]) -> float:
    # Upstream compares bool(answer) == bool(entry["answer"]); gold is "True"/"False", a
    # non-empty string, so every non-empty answer scored 1.0.
    if answer is None:
        return 0.0
    return 1.0 if answer.strip().lower() == str(entry["answer"]).strip().lower() else 0.0


OVERRIDES: dict[str, Callable[[str | None, dict[str, Any]], float]] = {
    "game_of_life_halting": _game_of_life_halting,
}
