"""`training.log_completions`: every training rollout into <output_dir>/completions.jsonl, a few on
the console, so a user sees what the policy writes and why it is rewarded (both backends)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from ..protocol import final_assistant_text

FILE = "completions.jsonl"


def _question(prompt) -> str:
    if isinstance(prompt, list):
        users = [m.get("content") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return str(users[-1]) if users else ""
    return str(prompt or "")


class CompletionLog:
    def __init__(self, out_dir: str | Path, print_per_step: int = 2, console: Console | None = None):
        self.path = Path(out_dir) / FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.print_per_step, self.console = print_per_step, console or Console(stderr=True)

    def write(self, step: int, prompts, completions, infos, rewards: dict[str, list[float]], total=None) -> None:
        """One line per rollout: step, task, question, completion, each reward (and the weighted total)."""
        lines = []
        for k, (prompt, completion, info) in enumerate(zip(prompts, completions, infos)):
            row = {"step": step, "task": (info or {}).get("rg_task"), "question": _question(prompt),
                   "completion": final_assistant_text(completion),
                   "rewards": {name: values[k] for name, values in rewards.items() if k < len(values)}}
            if total is not None and k < len(total):
                row["reward"] = total[k]
            lines.append(row)
        with self.path.open("a", encoding="utf-8") as f:
            f.writelines(json.dumps(r, default=str) + "\n" for r in lines)
        for r in lines[:self.print_per_step]:
            text = " ".join(r["completion"].split())
            shown = ", ".join(f"{n} {v:.2f}" for n, v in r["rewards"].items())
            self.console.print(f"step {step} · {r['task']} · {shown}: {text[:160]}", markup=False, highlight=False)
