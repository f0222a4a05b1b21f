"""One exception type for bad user input, printed as one line instead of a traceback."""

from __future__ import annotations

import difflib
import sys


class RGVError(ValueError):
    """Bad input: the message says what was wrong and how to fix it, on one line."""


def close_matches(word: str, options, n: int = 5) -> list[str]:
    options = list(options)
    matches = difflib.get_close_matches(word, options, n=n, cutoff=0.5)
    # substring hits catch abbreviations difflib scores low ("legs" -> "leg_counting")
    matches += [o for o in options if word and word in o and o not in matches]
    return matches[:n]


def did_you_mean(word: str, options) -> str:
    matches = close_matches(word, options)
    return f"; did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""


_installed = False


def install_excepthook() -> None:
    """Print an uncaught RGVError as one line.

    vf-eval calls load_environment inside asyncio.run; without this a typo in a task name
    would end in a 40-line traceback through verifiers' internals.
    """
    global _installed
    if _installed:
        return
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if isinstance(exc, RGVError):
            print(f"error: {exc}", file=sys.stderr)
        else:
            previous(exc_type, exc, tb)

    sys.excepthook = hook
    _installed = True
