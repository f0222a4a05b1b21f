"""Prompt -> parse -> score: the one path shared by vf-eval, training and benchmarking.

- Prompt: the universal instruction is the system message by default. `system_prompt` replaces
  it; `prompt_placement="user"` prepends it to the question for models without a system role.
- Parse: the LAST `<answer>...</answer>` of the final assistant message wins (reasoning-gym's
  own `extract_answer` convention; verifiers' XMLParser takes the first, which rewards a model
  that "corrects" itself too early). Whitespace is stripped. No tag -> None -> parse failure,
  reward 0; never the string "None". The math-dataset tasks (`tasks.BOXED_ANSWER_TASKS`) take the
  content of the last `\boxed{...}` (or `\fbox{...}`, balanced braces) first, else the last tag.
- Score: `rg_verifiers.scoring.Scorer` (sandboxed where needed).
"""

from __future__ import annotations

import re
from typing import Any

from .tasks import BOXED_ANSWER_TASKS

DEFAULT_SYSTEM_PROMPT = (
    "Think step by step and solve the problem carefully. "
    "When you have your final answer, format it as: <answer>your answer here</answer>"
)

_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_BOXED_RE = re.compile(r"\\(boxed|fbox)(?![A-Za-z])([ \t]*)")
_BOXED_TOKEN_RE = re.compile(r"[^\s$]+")
_BRACE_RE = re.compile(r"[\\{}]")


def build_messages(question: str, system_prompt: str | None = None, placement: str = "system") -> list[dict[str, str]]:
    instruction = DEFAULT_SYSTEM_PROMPT if system_prompt is None else system_prompt
    if placement == "system":
        msgs = [{"role": "system", "content": instruction}] if instruction else []
        return msgs + [{"role": "user", "content": question}]
    if placement == "user":
        content = f"{instruction}\n\n{question}" if instruction else question
        return [{"role": "user", "content": content}]
    raise ValueError(f"prompt placement must be 'system' or 'user', got {placement!r}")


def final_assistant_text(completion: Any) -> str:
    """Text of the last assistant message (or the completion itself for completion-style envs)."""
    if isinstance(completion, str):
        return completion
    for msg in reversed(completion or []):
        if msg.get("role") == "assistant":
            content = msg.get("content")
            if isinstance(content, list):  # OpenAI content parts
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content or ""
    return ""


def parse_answer(completion: Any, task: str | None = None) -> str | None:
    """The last <answer> of the final assistant message, stripped; None when there is none.
    For the math-dataset tasks the last closed \\boxed{...} comes first."""
    text = final_assistant_text(completion)
    if task in BOXED_ANSWER_TASKS:
        boxed = last_boxed(text)
        if boxed is not None:
            return boxed.strip()
    matches = _ANSWER_RE.findall(text)
    return matches[-1].strip() if matches else None


def format_ok(completion: Any, task: str | None = None) -> bool:
    """True when the final message ends with a closed answer tag (only whitespace after it); for the
    math-dataset tasks also when it holds a closed \\boxed{...}."""
    text = final_assistant_text(completion)
    if task in BOXED_ANSWER_TASKS and last_boxed(text) is not None:
        return True
    end = text.rfind("</answer>")
    return end >= 0 and "<answer>" in text[:end] and not text[end + len("</answer>"):].strip()


def last_boxed(text: str) -> str | None:
    """The content of the last closed `\\boxed{...}` / `\\fbox{...}` (braces balanced, `\\{` and `\\}`
    are literal), or of the last `\\boxed 5` (one token); None when there is none. Linear time: the
    brace pairs are matched once, so a megabyte of unclosed `\\boxed{` costs one pass."""
    starts = list(_BOXED_RE.finditer(text))
    if not starts:
        return None
    closing: dict[int, int] = {}  # position of "{" -> position of its "}"
    stack: list[int] = []
    escaped = -1  # a backslash escapes the character right after it
    for b in _BRACE_RE.finditer(text, starts[0].end()):
        i, c = b.start(), b.group(0)
        if i == escaped:
            continue
        if c == "\\":
            escaped = i + 1
        elif c == "{":
            stack.append(i)
        elif stack:
            closing[stack.pop()] = i
    n = len(text)
    for m in reversed(starts):
        at = m.end()
        if at < n and text[at] == "{":
            if at in closing:
                return text[at + 1:closing[at]]
        elif m.group(1) == "boxed" and m.group(2):  # "\\boxed 5": one token
            token = _BOXED_TOKEN_RE.match(text, at)
            if token and token.group(0).rstrip(".,;"):
                return token.group(0).rstrip(".,;")
    return None
