"""Math answers: the reference from a dataset row, and equivalence with math_verify.

- Reference: GSM8K's `... #### 1,234` becomes `1234` (the text after the last `####`, thousands
  separators dropped); a solution with a `\\boxed{}` gives its last boxed content; anything else is
  kept as it is (DeepScaleR's `answer` column: `\\frac{1}{2}`, `2\\sqrt{2}`, ...).
- Accuracy (1.0 or 0.0): both sides are wrapped in `\\boxed{}` and parsed by `math_verify.parse` with
  LaTeX and plain-expression extraction, then compared by `math_verify.verify(gold, answer)`:
  `\\frac{1}{2}` = `0.5`, `\\sqrt{8}` = `2\\sqrt{2}`, `1,234` = `1234`, `x=3` = `3`. When a side does not
  parse, or both are plain words (math_verify reads a word as a product of symbols, so anagrams
  would match), a normalized string comparison decides (case, spaces, `$`, `\\text{}`, a final period).
- Time limits: math_verify's own timeouts use SIGALRM, which raises outside the main thread, so it
  is called with them off (as verifiers' MathRubric does) and bounded here instead: in a process's
  main thread (the scoring workers, where `rg_verifiers.scoring` sends these tasks) by one interval
  timer around the whole comparison, which restores any timer already set; in other threads not at
  all, since the caller's bound applies there (the worker pool kills a worker at `score_timeout_s`).
  A comparison past the limit raises TimeoutError: the scorer records 0 with score_failure=1.
"""

from __future__ import annotations

import functools
import logging
import re
import signal
import threading
import time

VERIFY_TIMEOUT_S = 5.0

_GSM8K_MARK = "####"
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_WORD_RE = re.compile(r"^[A-Za-z][A-Za-z ]*[A-Za-z]$")
_TEXT_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


class _Deadline(BaseException):
    """Raised by the interval timer; a BaseException, so math_verify's `except Exception` cannot swallow it."""


def reduce_reference(text) -> str:
    """The answer a row's reference text states (see the module docstring)."""
    from .protocol import last_boxed

    text = "" if text is None else str(text).strip()
    if _GSM8K_MARK in text:
        return strip_thousands(text.rsplit(_GSM8K_MARK, 1)[1].strip())
    if "\\boxed" in text or "\\fbox" in text:
        boxed = last_boxed(text)
        if boxed is not None:
            return boxed.strip()
    return text


def strip_thousands(text: str) -> str:
    """`1,234` -> `1234`, `-12,345.5` -> `-12345.5`; anything else unchanged (`(1,2)`, `1,2`)."""
    return text.replace(",", "") if _THOUSANDS_RE.match(text) else text


def _unwrap(text: str) -> str:
    text = text.strip()
    for left, right in _DELIMITERS:
        if len(text) > len(left) + len(right) and text.startswith(left) and text.endswith(right):
            return text[len(left):-len(right)].strip()
    return text


def normalize(text: str) -> str:
    """The string-comparison form: delimiters, \\text{}, spaces, case and a final period dropped."""
    text = _TEXT_RE.sub(r"\1", _unwrap(text))
    text = re.sub(r"\\[,!;:]|\\left|\\right|\\displaystyle", "", text)
    text = "".join(text.split()).lower().rstrip(".")
    return strip_thousands(text)


@functools.cache
def _math_verify():
    try:
        import math_verify
    except ImportError as exc:  # verifiers depends on it; a bare install of rg-verifiers might not have it
        raise ImportError("the math tasks need math-verify: pip install 'math-verify>=0.8'") from exc
    # with their own timeouts off, math_verify warns once per process that we must bound the time: we do
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    config = (math_verify.LatexExtractionConfig(boxed_match_priority=0), math_verify.ExprExtractionConfig())
    return math_verify, config


def _parse(text: str) -> list:
    mv, config = _math_verify()
    return mv.parse(f"\\boxed{{{text}}}", extraction_config=config, parsing_timeout=None)


def equivalent(answer: str, reference: str) -> bool:
    """math_verify equivalence, else normalized string equality (see the module docstring)."""
    answer, reference = strip_thousands(_unwrap(answer)), strip_thousands(_unwrap(reduce_reference(reference)))
    if not answer.strip() or not reference.strip():
        return False
    plain_words = _WORD_RE.match(_TEXT_RE.sub(r"\1", answer)) and _WORD_RE.match(_TEXT_RE.sub(r"\1", reference))
    if not plain_words:
        gold, pred = _parse(reference), _parse(answer)
        if gold and pred:
            mv, _ = _math_verify()
            if mv.verify(gold, pred, timeout_seconds=None):
                return True
    return normalize(answer) == normalize(reference)


def accuracy(answer: str | None, reference: str, timeout_s: float | None = VERIFY_TIMEOUT_S) -> float:
    """1.0 when `answer` (the parsed final answer; None = parse failure) is equivalent to `reference`."""
    if answer is None:
        return 0.0
    if not timeout_s or threading.current_thread() is not threading.main_thread():
        return float(equivalent(answer, reference))
    with _time_limit(timeout_s):
        return float(equivalent(answer, reference))


class _time_limit:
    """An ITIMER_REAL deadline for the main thread that puts back the handler and any timer set before."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        def expire(signum, frame):
            raise _Deadline()

        self.start = time.monotonic()
        self.handler = signal.signal(signal.SIGALRM, expire)
        self.outer = signal.setitimer(signal.ITIMER_REAL, self.seconds)  # (remaining, interval) of a timer set before
        return self

    def __exit__(self, exc_type, exc, tb):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.handler)
        remaining, interval = self.outer
        if remaining:  # an outer timer (pytest-timeout, a caller's own alarm) keeps running
            signal.setitimer(signal.ITIMER_REAL, max(remaining - (time.monotonic() - self.start), 1e-3), interval)
        if exc_type is _Deadline:
            raise TimeoutError(f"math_verify ran past {self.seconds:g} s") from None
        return False
