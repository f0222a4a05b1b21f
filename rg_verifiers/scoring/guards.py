"""Checks applied to a model's answer before any reasoning-gym scorer sees it.

Two kinds of scorers would execute model text:
- `eval(answer)` (binary_matrix, n_queens, spiral_matrix, string_insertion): inside the worker
  their module-level name `eval` is rebound to `bounded_literal_eval`, which parses Python
  literals only, so `__import__('os')...` is a ValueError and nothing runs.
- `sympy.parse_expr(answer)` (countdown, puzzle24, simple/intermediate_integration,
  polynomial_multiplication): parse_expr eval()s generated code with builtins in scope
  (`open(chr(120),chr(119))` needs no quote or underscore), and `9**9**9` or `1e999999`
  hang it for minutes. `check_sympy_answer` only lets through arithmetic on numbers, single-
  letter symbols and a fixed set of math functions, with bounded literals and exponents.
Anything rejected scores 0 with `answer_rejected=1`; the worker's time and memory limits are
the second line of defence.
"""

from __future__ import annotations

import ast
import re

EVAL_SCORER_MODULES = {
    "binary_matrix": "reasoning_gym.algorithmic.binary_matrix",
    "n_queens": "reasoning_gym.games.n_queens",
    "spiral_matrix": "reasoning_gym.algorithmic.spiral_matrix",
    "string_insertion": "reasoning_gym.algorithmic.string_insertion",
}
SYMPY_SCORERS = frozenset(
    {"countdown", "puzzle24", "simple_integration", "intermediate_integration", "polynomial_multiplication"}
)

MAX_LITERAL_EVAL_CHARS = 20_000
MAX_SYMPY_CHARS = 1_000
_MATH_NAMES = frozenset(
    "sin cos tan cot sec csc asin acos atan asinh acosh atanh sinh cosh tanh exp log ln sqrt pi E I oo Abs "
    "Integral".split()  # intermediate_integration golds include unevaluated Integral(f, x)
)
_SYMPY_CHARS = re.compile(r"^[0-9A-Za-z+\-*/^().,\s]*$")  # commas separate function arguments
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_NAME = re.compile(r"[A-Za-z]+")
_POWER = re.compile(r"\*\*|\^")


def bounded_literal_eval(text, *args, **kwargs):
    """Drop-in for eval() in scorers that only ever need a Python literal."""
    if args or kwargs:
        raise ValueError("eval with namespaces is not allowed")
    if not isinstance(text, str) or len(text) > MAX_LITERAL_EVAL_CHARS:
        raise ValueError("answer too long to parse as a literal")
    return ast.literal_eval(text)


def check_sympy_answer(text: str) -> str | None:
    """None when `text` is safe to hand to sympy.parse_expr, else the reason it is not."""
    if len(text) > MAX_SYMPY_CHARS:
        return f"longer than {MAX_SYMPY_CHARS} characters"
    if not _SYMPY_CHARS.match(text):
        return "characters other than digits, letters, + - * / ^ ( ) . , and spaces"
    # a digit glued to letters is scientific notation (1e999999) or implicit multiplication
    if re.search(r"\d[A-Za-z]", text):
        return "number followed by letters"
    for name in _NAME.findall(text):
        if len(name) > 1 and name not in _MATH_NAMES:
            return f"name {name!r} is not a math function"
    for number in _NUMBER.findall(text):
        if len(number.replace(".", "")) > 30:
            return "number literal longer than 30 digits"
    powers = [m.end() for m in _POWER.finditer(text)]
    if len(powers) > 20:
        return "more than 20 powers"
    for end in powers:
        exponent, after = _exponent_text(text, end)
        # a**b**c is a**(b**c): a tower, however small each literal looks
        if _POWER.search(exponent) or _POWER.match(text[after:].lstrip()):
            return "nested powers"
        if any(len(n.split(".")[0]) > 3 for n in _NUMBER.findall(exponent)):
            return "exponent larger than 999"
    return None


def _exponent_text(text: str, start: int) -> tuple[str, int]:
    """The operand right of a power operator (a parenthesised group or one token) and its end."""
    i = start
    while i < len(text) and text[i] in " -+":
        i += 1
    if i < len(text) and text[i] == "(":
        depth = 0
        for j in range(i, len(text)):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                return text[i : j + 1], j + 1
        return text[i:], len(text)
    m = re.match(r"[A-Za-z0-9.]+", text[i:])
    return (m.group(0), i + m.end()) if m else ("", i)
