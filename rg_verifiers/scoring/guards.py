"""Checks applied to a model's answer before any reasoning-gym scorer sees it.

Two kinds of scorers would execute model text:
- `eval(answer)` (binary_matrix, n_queens, spiral_matrix, string_insertion): inside the worker
  their module-level name `eval` is rebound to `bounded_literal_eval`, which parses Python
  literals only, so `__import__('os')...` is a ValueError and nothing runs.
- `sympy.parse_expr(answer)` (countdown, puzzle24, simple/intermediate_integration,
  polynomial_multiplication): parse_expr eval()s generated code with builtins in scope
  (`open(chr(120),chr(119))` needs no quote or underscore), and `9**9**9` or `1e999999`
  hang it for minutes. `check_sympy_answer` parses the answer as a Python expression and only
  lets through arithmetic on numbers and symbols, calls of a fixed list of pure sympy
  functions, and bounded literals and exponents (bounds scaled to the item's gold).
Anything rejected scores 0 with `answer_rejected=1`; the worker's time and memory limits are
the second line of defence.
"""

from __future__ import annotations

import ast
import builtins
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
# Floors of the sympy guard's limits; each is raised to fit the item's own gold answer
# (`SympyLimits.for_reference`), so a correct answer at any difficulty passes.
MAX_SYMPY_CHARS = 1_000
MAX_DIGITS = 30
MAX_POWERS = 20
MAX_EXPONENT_DIGITS = 3  # |exponent literal| <= 999
MAX_DEPTH = 60  # AST depth: sympy recurses over the tree

# Pure sympy functions an answer may call (mathematics only: constructors, elementary
# functions, algebraic rewriting); `Pow(a, b)` is checked like `a**b`, and S(...)/Float(...) get
# no strings, since strings are refused everywhere. Calls to any other name (builtins,
# Function('f'), Symbol(...), N(...) and integrate/factorial/binomial/..., which can run for
# minutes on small input) are refused. Bare names are symbols (`C_1`, `K`) whatever they are.
SYMPY_CALLS = frozenset(
    "sin cos tan cot sec csc asin acos atan acot asec acsc sinh cosh tanh coth sech csch asinh acosh atanh "
    "acoth exp log ln sqrt cbrt Abs sign re im conjugate floor ceiling "
    "Integral Rational Integer Float Add Mul Pow S erf erfc atan2 "  # Integral(f, x) is in some golds
    "expand expand_mul expand_log expand_trig factor simplify together cancel apart collect trigsimp "
    "powsimp radsimp ratsimp nsimplify".split()
)
_BUILTIN_NAMES = frozenset(dir(builtins))  # parse_expr resolves these to Python's builtins, not symbols
_KEYWORDS = frozenset({"evaluate"})  # Add(..., evaluate=False)
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitXor, ast.USub, ast.UAdd)


def bounded_literal_eval(text, *args, **kwargs):
    """Drop-in for eval() in scorers that only ever need a Python literal.

    Besides literals, `list("...")` of a string literal is evaluated (string_insertion gives
    0.1 for the right string written as a list of characters); no other call is.
    """
    if args or kwargs:
        raise ValueError("eval with namespaces is not allowed")
    if not isinstance(text, str) or len(text) > MAX_LITERAL_EVAL_CHARS:
        raise ValueError("answer too long to parse as a literal")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, RecursionError, MemoryError):
        raise ValueError("not a Python literal") from None
    if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "list"
            and len(tree.args) == 1 and not tree.keywords
            and isinstance(tree.args[0], ast.Constant) and isinstance(tree.args[0].value, str)):
        return list(tree.args[0].value)
    return ast.literal_eval(tree)


class SympyLimits:
    def __init__(self, chars=MAX_SYMPY_CHARS, digits=MAX_DIGITS, powers=MAX_POWERS,
                 exponent_digits=MAX_EXPONENT_DIGITS):
        self.chars, self.digits, self.powers, self.exponent_digits = chars, digits, powers, exponent_digits

    @classmethod
    def for_reference(cls, reference: str | None) -> "SympyLimits":
        """The floors, raised to fit `reference` (the item's gold) with room for other forms."""
        if not reference:
            return cls()
        digits = max((len(n.replace(".", "")) for n in _NUMBER.findall(reference)), default=0)
        return cls(chars=max(MAX_SYMPY_CHARS, 3 * len(reference)),
                   digits=max(MAX_DIGITS, 2 * digits),
                   powers=max(MAX_POWERS, 3 * (reference.count("**") + reference.count("^"))))


def check_sympy_answer(text: str, reference: str | None = None) -> str | None:
    """None when `text` is safe to hand to sympy.parse_expr, else the reason it is not.

    The answer must parse as a Python expression made only of numbers, names (any identifier
    that is not a Python builtin and does not start with `_`: sympy turns unknown names into
    symbols), + - * / ** ^, calls of
    `SYMPY_CALLS`, tuples (Integral limits) and `evaluate=` keywords. Attribute access,
    subscripts, strings, lambdas, comprehensions and every other call are refused, so nothing
    but sympy arithmetic can run. Resource bombs: no power inside an exponent (towers), exponent
    literals of at most 3 digits, and bounded literals, power count, length and depth, each
    scaled to the item's gold (`reference`). parse_expr's own syntax extensions (`2x`, `x!`,
    `0.[3]`) are refused; reasoning-gym's default parse_expr rejects the first as well.
    """
    limits = SympyLimits.for_reference(reference)
    if len(text) > limits.chars:
        return f"longer than {limits.chars} characters"
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "not a Python expression"
    source = text.strip()
    state = {"powers": 0}
    try:
        return _check_node(tree.body, source, limits, state, depth=0, in_exponent=False)
    except RecursionError:
        return "nested too deeply"


def _check_node(node, source, limits, state, depth, in_exponent):
    if depth > MAX_DEPTH:
        return "nested too deeply"
    recurse = lambda child, exp=in_exponent: _check_node(child, source, limits, state, depth + 1, exp)  # noqa: E731
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float, complex)):
            return "only numbers may be literals"
        literal = ast.get_source_segment(source, node) or ""
        if literal[:2].lower() in ("0x", "0o", "0b"):
            return "only decimal number literals"
        mantissa, _, exponent = literal.lower().replace("_", "").rstrip("j").partition("e")
        if len(mantissa.replace(".", "")) > limits.digits:
            return f"number literal longer than {limits.digits} digits"
        if exponent and len(exponent.lstrip("+-")) > 2:  # 1e999999 takes sympy minutes
            return "number with an exponent over 99"
        if in_exponent and len(mantissa.split(".")[0].lstrip("0")) > limits.exponent_digits:
            return "exponent larger than 999"
        return None
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            return "names may not start with an underscore"
        return f"{node.id!r} is a Python builtin, not a symbol" if node.id in _BUILTIN_NAMES else None
    if isinstance(node, ast.UnaryOp):
        return "operator not allowed" if not isinstance(node.op, _OPS) else recurse(node.operand)
    # a sum of 100 terms is a left-leaning chain of 100 BinOps: walk it as a loop, at one depth
    while (isinstance(node, ast.BinOp) and isinstance(node.op, _OPS)
           and not isinstance(node.op, (ast.Pow, ast.BitXor))
           and isinstance(node.left, ast.BinOp) and not isinstance(node.left.op, (ast.Pow, ast.BitXor))):
        reason = recurse(node.right)
        if reason:
            return reason
        node = node.left
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _OPS):
            return "operator not allowed"
        if isinstance(node.op, (ast.Pow, ast.BitXor)):  # ^ is a power under sympy's convert_xor
            state["powers"] += 1
            if state["powers"] > limits.powers:
                return f"more than {limits.powers} powers"
            if in_exponent:
                return "nested powers"  # a**b**c is a**(b**c): a tower
            if isinstance(node.op, ast.BitXor) and any(
                    isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Pow, ast.BitXor)) for n in ast.walk(node.left)):
                return "nested powers"  # a^b^c parses left to right, but convert_xor makes it a**b**c
            return recurse(node.left) or recurse(node.right, True)
        return recurse(node.left) or recurse(node.right)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in SYMPY_CALLS:
            name = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
            return f"call of {name!r}, which is not an allowed sympy function"
        if node.func.id == "Pow":  # the same checks as a**b
            if len(node.args) != 2 or node.keywords:
                return "Pow takes two arguments"
            return recurse(ast.BinOp(left=node.args[0], op=ast.Pow(), right=node.args[1]))
        for kw in node.keywords:
            if kw.arg not in _KEYWORDS or not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool)):
                return "keyword argument not allowed"
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                return "starred argument not allowed"
            reason = recurse(arg)
            if reason:
                return reason
        return None
    if isinstance(node, ast.Tuple):
        for elt in node.elts:
            reason = recurse(elt)
            if reason:
                return reason
        return None
    return f"{type(node).__name__} is not allowed"
