"""Adaptive curriculum (`training.curriculum`): each task's difficulty level follows its rolling train accuracy.

- Slots: the train split is `data.num_train_examples` slots, split between the tasks by weight as the
  env's train split is, in a fixed shuffled order. The trainer samples slots (TRL's RepeatSampler, the
  Orchestrator's batch offsets), so the mixture weights never change; a slot becomes a row only when a
  batch is drawn, from its task's pool at the task's level at that moment.
- Pools: the rows of one (task, level), generated the first time the level is reached, like the env's
  train split (`data.build_split`, seed `data.seed`, the same on-disk cache) at `difficulty=level` with
  the task's explicit `config` fields on top, minus every eval question and every prompt over
  `training.max_prompt_length`. A level whose pool comes out empty is never entered.
- Controller: per task, the correctness (score == 1.0) of each rollout drawn at the task's current
  level, in a window of `window` rollouts counted afresh after every change; when it is full, accuracy
  >= raise_threshold moves the task up one usable level (at most max_level), accuracy < lower_threshold
  down one. Rollouts drawn at an earlier level are not counted.
- Records: `curriculum/<task>/level` in every metrics line (the level the step's items came from),
  `curriculum.jsonl` (per step and task: the level, the items drawn as [reasoning-gym index, question
  digest], and every level change), and `curriculum.json` in each checkpoint (the state after that
  step's rollouts), which a resumed run starts from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import random
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from transformers import TrainerCallback

from ..config import ExperimentConfig
from ..data import TaskSpec, allocate, build_split, to_prompt_rows
from ..errors import RGVError

log = logging.getLogger("rg_verifiers")

STATE_FILE = "curriculum.json"
LOG_FILE = "curriculum.jsonl"
STATE_FORMAT = 1
LEVEL_KEY = "curriculum_level"  # in each drawn row's info: the level its item was generated at


@dataclass(frozen=True)
class Change:
    task: str
    old: int
    new: int
    accuracy: float
    rollouts: int


class Controller:
    """Levels and rolling windows per task; knows nothing about data.

    `usable(task, level)` is asked before entering a level; a level it refuses is dropped from the
    task's ladder (with every level beyond it in that direction), so it is never asked again.
    """

    def __init__(self, ladders: dict[str, list[int]], start: dict[str, int], raise_threshold: float,
                 lower_threshold: float | None, window: int,
                 usable: Callable[[str, int], bool] | None = None):
        self.ladders = {t: sorted(levels) for t, levels in ladders.items()}
        for task, level in start.items():
            if level not in self.ladders[task]:
                raise RGVError(f"training.curriculum: task {task!r} cannot start at level {level} "
                               f"(usable levels: {self.ladders[task]})")
        self.levels = dict(start)
        self.raise_threshold, self.lower_threshold, self.size = raise_threshold, lower_threshold, window
        self.windows = {t: deque(maxlen=window) for t in self.ladders}
        self.usable = usable

    def level(self, task: str) -> int:
        return self.levels[task]

    def record(self, task: str, level: int, correct: bool) -> Change | None:
        if level != self.levels[task]:
            return None  # drawn before the last change: says nothing about the current level
        window = self.windows[task]
        window.append(bool(correct))
        if len(window) < self.size:
            return None
        accuracy = sum(window) / len(window)
        ladder = self.ladders[task]
        i = ladder.index(level)
        if accuracy >= self.raise_threshold and i + 1 < len(ladder):
            target = ladder[i + 1]
        elif self.lower_threshold is not None and accuracy < self.lower_threshold and i > 0:
            target = ladder[i - 1]
        else:
            return None
        if self.usable is not None and not self.usable(task, target):
            self.ladders[task] = [lv for lv in ladder if (lv < target if target > level else lv > target)]
            return None
        self.levels[task] = target
        window.clear()
        return Change(task, level, target, accuracy, self.size)

    def state(self) -> dict:
        return {"format": STATE_FORMAT,
                "tasks": {t: {"level": self.levels[t], "window": [int(c) for c in self.windows[t]]} for t in self.levels}}

    def load(self, state: dict) -> list[str]:
        """Restores levels and windows; returns what could not be restored as it was."""
        notes = []
        saved = state.get("tasks", {})
        for task in self.levels:
            if task not in saved:
                notes.append(f"{task}: not in the saved state, starts at level {self.levels[task]}")
                continue
            level = int(saved[task]["level"])
            if level not in self.ladders[task]:
                nearest = min(self.ladders[task], key=lambda lv: (abs(lv - level), lv))
                notes.append(f"{task}: saved level {level} is outside this run's levels {self.ladders[task]}; "
                             f"continues at {nearest}")
                self.levels[task] = nearest
                self.windows[task].clear()
                continue
            self.levels[task] = level
            self.windows[task] = deque((bool(c) for c in saved[task].get("window", [])), maxlen=self.size)
        return notes


def task_ladder(name: str, max_level: int | None) -> list[int]:
    from ..tasks import task_info, usable_levels

    if task_info(name).difficulty_levels == 0:
        raise RGVError(f"training.curriculum: task {name!r} has no curriculum levels in reasoning-gym; "
                       f"remove it from the mixture or disable training.curriculum")
    return [lv for lv in usable_levels(name) if max_level is None or lv <= max_level]


def start_level(task, curriculum) -> int:
    """A task's first level: its own `difficulty` when set, else `training.curriculum.start_level`."""
    return task.difficulty if task.difficulty is not None else curriculum.start_level


def prompt_fits(tokenizer, max_prompt_length: int) -> Callable[[dict], bool]:
    """The length rule of both backends (drop_long_prompts, RLTrainer's Orchestrator), for one row."""
    def fits(row: dict) -> bool:
        text = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        return len(tokenizer.encode(text)) <= max_prompt_length

    return fits


def question_digest(question: str) -> str:
    return hashlib.sha256(question.encode()).hexdigest()[:12]


class Curriculum:
    """Pools, slots, controller and records of one training run; shared by both backends.

    Thread-safe: the verifiers backend draws and reports from the Orchestrator's worker thread while
    the trainer logs and saves from the main thread.
    """

    def __init__(self, cfg: ExperimentConfig, env, fits: Callable[[dict], bool] | None = None,
                 resume_from: str | None = None, console=None, write_records: bool = True):
        from ..env import env_arg_defaults

        c = cfg.training.curriculum
        self.console = console
        self.lock = threading.RLock()
        args = {**env_arg_defaults(), **(getattr(env, "env_args", None) or {})}
        self.seed, self.cache = int(args["seed"]), bool(args["cache"])
        self.system_prompt, self.placement = args["system_prompt"], args["prompt_placement"]
        self.specs = {t.name: TaskSpec.parse({"name": t.name, "weight": t.weight, "config": dict(t.config),
                                              "difficulty": t.difficulty}) for t in cfg.tasks}
        names = list(self.specs)
        n = int(args["num_train_examples"])
        if n <= 0:
            raise RGVError("training.curriculum needs training items: data.num_train_examples must be > 0")
        self.counts = dict(zip(names, allocate(n, [self.specs[t].weight for t in names])))
        plan = [t for t in names for _ in range(self.counts[t])]
        if len(names) > 1:
            random.Random(f"rgv:{self.seed}:curriculum").shuffle(plan)
        ranks: dict[str, int] = {t: 0 for t in names}
        self.slots: list[tuple[str, int]] = []
        for task in plan:
            self.slots.append((task, ranks[task]))
            ranks[task] += 1
        evals = getattr(env, "eval_dataset", None)
        self.eval_questions = set(evals["question"]) if evals is not None and "question" in evals.column_names else set()
        self.fits = fits
        self.pools: dict[tuple[str, int], list[dict]] = {}
        ladders = {t: task_ladder(t, c.max_level) for t in names}
        starts = {t.name: start_level(t, c) for t in cfg.tasks}
        self.controller = Controller(ladders, starts, c.raise_threshold, c.lower_threshold, c.window,
                                     usable=lambda task, level: bool(self._pool(task, level)))
        if resume_from:
            self._load(Path(resume_from))
        for task in names:  # the start pools must exist: fail before training, not at the first batch
            if not self._pool(task, self.controller.level(task)):
                raise RGVError(f"training.curriculum: task {task!r} has no usable training item at level "
                               f"{self.controller.level(task)} (every prompt is longer than training.max_prompt_length, "
                               f"or every question is in the eval split)")
        # step -> levels each task was drawn at / controller state after that step's rollouts
        self.drawn: dict[int, dict[str, int]] = {}
        self.states: dict[int, dict] = {0: self.controller.state()}
        self.pending: list[tuple[str, int | None, bool]] = []
        self.log_path = Path(cfg.training.output_dir) / LOG_FILE if write_records else None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def num_slots(self) -> int:
        return len(self.slots)

    def levels(self) -> dict[str, int]:
        with self.lock:
            return dict(self.controller.levels)

    # -- data

    def _pool(self, task: str, level: int) -> list[dict]:
        with self.lock:
            if (task, level) not in self.pools:
                spec = dataclasses.replace(self.specs[task], difficulty=level)
                rows, _ = build_split([spec], "train", self.counts[task], self.seed, exclude=self.eval_questions,
                                      use_cache=self.cache)
                rows = to_prompt_rows(rows, self.system_prompt, self.placement)
                kept = [{**r, "info": {**r["info"], LEVEL_KEY: level}} for r in rows if self.fits is None or self.fits(r)]
                if len(kept) < len(rows):
                    log.warning("curriculum: %s level %d: dropped %d of %d prompts over training.max_prompt_length",
                                task, level, len(rows) - len(kept), len(rows))
                self.pools[(task, level)] = kept
                self._say(f"curriculum: {task} level {level}: {len(kept)} training items")
            return self.pools[(task, level)]

    def row(self, slot: int) -> dict:
        task, k = self.slots[slot % len(self.slots)]
        pool = self._pool(task, self.controller.level(task))
        return dict(pool[k % len(pool)])

    def draw(self, slots: Iterable[int], step: int) -> list[dict]:
        """The rows of these slots at their tasks' current levels, for the batch trained at `step`."""
        with self.lock:
            rows = [self.row(s) for s in slots]
            self.drawn[step] = self.levels()
            _prune(self.drawn, step)
            items: dict[str, dict] = {}
            for r in rows:
                seen = items.setdefault(r["info"]["rg_task"], {})
                seen.setdefault(r["info"]["index"], question_digest(r["question"]))
            self._write([{"step": step, "task": t, "level": lv, "items": [[i, d] for i, d in items.get(t, {}).items()]}
                         for t, lv in self.drawn[step].items()])
            return rows

    # -- feedback

    def collect(self, infos: list[dict], scores: list[float]) -> None:
        """Scores of rollouts, as the first reward function sees them (TRL); `report` applies them."""
        with self.lock:
            self.pending += [(i["rg_task"], i.get(LEVEL_KEY), s == 1.0) for i, s in zip(infos, scores)]

    def take_pending(self) -> list[tuple[str, int | None, bool]]:
        with self.lock:
            out, self.pending = self.pending, []
            return out

    def report(self, results: Iterable[tuple[str, int | None, bool]], step: int) -> list[Change]:
        """Applies (task, level drawn at, correct) of the rollouts trained at `step`, in order."""
        changes = []
        with self.lock:
            for task, level, correct in results:
                if task not in self.specs or level is None:
                    continue
                change = self.controller.record(task, int(level), correct)
                if change is not None:
                    changes.append(change)
            self.states[step] = self.controller.state()
            _prune(self.states, step, keep_zero=True)
            self._write([{"step": step, "task": ch.task, "change": "raise" if ch.new > ch.old else "lower",
                          "from": ch.old, "to": ch.new, "accuracy": round(ch.accuracy, 4), "rollouts": ch.rollouts}
                         for ch in changes])
        for ch in changes:
            self._say(f"curriculum: {ch.task} level {ch.old} -> {ch.new} after step {step} "
                      f"(train accuracy {ch.accuracy:.2f} over the last {ch.rollouts} rollouts)")
        return changes

    # -- records

    def level_logs(self, step: int) -> dict[str, int]:
        """`curriculum/<task>/level` at `step`: the levels its batch was drawn at."""
        with self.lock:
            drawn = [s for s in self.drawn if s <= step]
            levels = self.drawn[max(drawn)] if drawn else self.levels()
            return {f"curriculum/{t}/level": int(lv) for t, lv in levels.items()}

    def state_at(self, step: int) -> dict:
        """The state after the rollouts of steps <= `step` (a step later may be scored already: the
        verifiers backend generates one batch ahead, and a resumed run draws that batch again)."""
        with self.lock:
            return self.states[max(s for s in self.states if s <= step)]

    def save(self, folder: str | Path, step: int) -> Path:
        path = Path(folder) / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({**self.state_at(step), "step": step}, indent=1))
        os.replace(tmp, path)
        return path

    def _load(self, checkpoint: Path) -> None:
        path = checkpoint / STATE_FILE
        if not path.is_file():
            self._say(f"[yellow]curriculum: {path} not found (a checkpoint of a run without the curriculum); "
                      f"every task restarts at its start level[/]")
            return
        for note in self.controller.load(json.loads(path.read_text())):
            self._say(f"[yellow]curriculum: {note}[/]")
        self._say("curriculum: resumed at " + ", ".join(f"{t} level {lv}" for t, lv in self.controller.levels.items()))

    def _write(self, records: list[dict]) -> None:
        if self.log_path is None or not records:
            return
        with self.log_path.open("a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")

    def _say(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, highlight=False)
        else:
            log.info(text)


def _prune(history: dict[int, object], step: int, keep: int = 8, keep_zero: bool = False) -> None:
    for s in [s for s in history if s < step - keep and not (keep_zero and s == 0)]:
        del history[s]


class CurriculumCallback(TrainerCallback):
    """Writes the curriculum state into every checkpoint (rank 0), so a resumed run continues at the saved levels."""

    def __init__(self, curriculum: Curriculum):
        self.curriculum = curriculum

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.curriculum.save(Path(args.output_dir) / f"checkpoint-{state.global_step}", state.global_step)
