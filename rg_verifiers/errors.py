"""One exception type for bad user input, printed as one line instead of a traceback.

`run_cli` is the shared printer of `rgv` and `train_minimal.py`:
- an RGVError (also one wrapped by a library, e.g. verifiers' load_environment) prints its
  message: `error: ...`, exit status 2;
- a ValueError or OSError from elsewhere (bad input reaching a library, a missing or unwritable
  file) prints `error: ...` too, with its type and a hint that RGV_DEBUG=1 shows the traceback;
- anything else is a bug and keeps its traceback; RGV_DEBUG=1 keeps it for everything.
Messages are printed as plain text: rich markup would eat `[serve]` in `rg-verifiers[serve]`.
"""

from __future__ import annotations

import difflib
import os
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
        # verifiers 0.1.9+ re-raises load_environment's errors as RuntimeError(...) from ours
        found = next((e for e in _chain(exc) if isinstance(e, RGVError)), None)
        if found is not None and os.environ.get(DEBUG_VAR, "") in ("", "0"):
            print(f"error: {_one_line(found) or type(found).__name__}", file=sys.stderr)
        else:
            previous(exc_type, exc, tb)

    sys.excepthook = hook
    _installed = True


DEBUG_VAR = "RGV_DEBUG"
# Raised by libraries and the OS for bad input (an invalid value, a missing or unwritable
# file); bugs raise other types (TypeError, KeyError, AttributeError, ...).
USER_ERROR_TYPES = (ValueError, OSError)


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def user_error_line(exc: BaseException) -> str | None:
    """The one line printed for an expected user error; None for a bug (keep the traceback)."""
    for e in _chain(exc):
        if isinstance(e, RGVError):
            return _one_line(e) or type(e).__name__
    if isinstance(exc, USER_ERROR_TYPES):
        return f"{_one_line(exc) or type(exc).__name__} ({type(exc).__name__}; {DEBUG_VAR}=1 shows the traceback)"
    return None


def print_error(message: str) -> None:
    from rich.console import Console
    from rich.text import Text

    # Text, not a markup string: the message is user data and may hold [brackets]
    Console(stderr=True, soft_wrap=True, highlight=False).print(Text.assemble(("error:", "bold red"), " ", message))


def run_cli(main, *args) -> None:
    """Call a command-line entry point; user errors end as one `error: ...` line, exit status 2."""
    if os.environ.get(DEBUG_VAR, "") not in ("", "0"):
        main(*args)
        return
    try:
        main(*args)
    except BrokenPipeError:  # `rgv tasks | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except Exception as exc:
        line = user_error_line(exc)
        if line is None:
            raise
        print_error(line)
        raise SystemExit(2) from None
