"""Prompt -> parse -> score: the one path shared by vf-eval, training and benchmarking.

- Prompt: the universal instruction is the system message by default. `system_prompt` replaces
  it; `prompt_placement="user"` prepends it to the question for models without a system role.
- Parse: the LAST `<answer>...</answer>` of the final assistant message wins (reasoning-gym's
  own `extract_answer` convention; verifiers' XMLParser takes the first, which rewards a model
  that "corrects" itself too early). Whitespace is stripped. No tag -> None -> parse failure,
  reward 0; never the string "None".
- Score: `rg_verifiers.scoring.Scorer` (sandboxed where needed).
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_SYSTEM_PROMPT = (
    "Think step by step and solve the problem carefully. "
    "When you have your final answer, format it as: <answer>your answer here</answer>"
)

_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


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


def parse_answer(completion: Any) -> str | None:
    """The last <answer> of the final assistant message, stripped; None when there is none."""
    matches = _ANSWER_RE.findall(final_assistant_text(completion))
    return matches[-1].strip() if matches else None


def format_ok(completion: Any) -> bool:
    """True when the final message ends with a closed answer tag (only whitespace after it)."""
    text = final_assistant_text(completion)
    end = text.rfind("</answer>")
    return end >= 0 and "<answer>" in text[:end] and not text[end + len("</answer>"):].strip()
