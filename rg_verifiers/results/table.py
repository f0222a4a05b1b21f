"""The table: `ResultsTable`, and `build_table`, which makes one table from many runs, nothing
lost and every run told apart (the rules are in the package docstring)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from ..errors import did_you_mean
from .formatting import _fmt_num, format_task_args
from .model import PROMPT_ENV_ARGS, TIMESTAMP_FORMAT, ModelTaskResult, ResultsError, RunInfo, average_over_tasks


@dataclass
class ResultsTable:
    """`{task: {label: ModelTaskResult}}`; insertion order is kept for tasks and labels.

    A label is the model name, or the model name plus what tells its runs apart
    (`series_suffix`), see the module docstring. `notes` lists what `load_results` set aside.
    """

    results: dict[str, dict[str, ModelTaskResult]] = field(default_factory=dict)
    series: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (model, suffix)
    notes: list[str] = field(default_factory=list)

    def add(self, result: ModelTaskResult, label: Optional[str] = None) -> None:
        # programmatic use (one benchmark run): a (task, label) added twice keeps the later one;
        # load_results gives every distinct run its own label instead
        run = result.run
        label = label or (run.label if run is not None and run.label else result.model)
        self.results.setdefault(result.task, {})[label] = result
        self.series.setdefault(label, (result.model, run.suffix if run is not None and run.label == label else ""))

    @property
    def tasks(self) -> list[str]:
        return list(self.results)

    @property
    def models(self) -> list[str]:
        """Series labels (model names unless runs had to be told apart)."""
        seen: dict[str, None] = {}
        for per_model in self.results.values():
            seen.update(dict.fromkeys(per_model))
        return list(seen)

    def series_model(self, label: str) -> str:
        return self.series.get(label, (label, ""))[0]

    def series_suffix(self, label: str) -> str:
        return self.series.get(label, (label, ""))[1]

    @property
    def is_single_task(self) -> bool:
        return len(self.results) == 1

    def get(self, task: str, model: str) -> Optional[ModelTaskResult]:
        return self.results.get(task, {}).get(model)

    def common_tasks(self, models: Optional[Sequence[str]] = None) -> list[str]:
        models = list(models) if models is not None else self.models
        return [t for t in self.tasks if all(m in self.results[t] for m in models)]

    def average(self, tasks: Optional[Sequence[str]] = None) -> dict[str, dict[str, Any]]:
        """Per-series macro average over `tasks` (default: every task the series has)."""
        out = {}
        for m in self.models:
            ts = self.tasks if tasks is None else tasks
            out[m] = average_over_tasks(self.results[t][m] for t in ts if m in self.results.get(t, {}))
        return out

    def reordered(self, tasks: Sequence[str]) -> "ResultsTable":
        """The same table with its tasks in this order (a subset drops the others)."""
        return ResultsTable({t: self.results[t] for t in tasks if t in self.results}, dict(self.series), list(self.notes))


def _newest(results: Sequence[ModelTaskResult]) -> ModelTaskResult:
    return max(results, key=lambda r: (r.run.timestamp, r.n_rollouts + r.n_errors))


def _names(results: Iterable[ModelTaskResult]) -> str:
    return ", ".join(dict.fromkeys(r.run.source for r in results))


def _dedup(results: list[ModelTaskResult], key, keep, notes: list[str], note) -> list[ModelTaskResult]:
    groups: dict[Any, list[ModelTaskResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    out = []
    for rs in groups.values():
        best = keep(rs)
        if len(rs) > 1:
            msg = note(best, rs)
            if msg:
                notes.append(msg)
        out.append(best)
    return out


def _run_text(run: RunInfo) -> str:
    try:
        when = datetime.strptime(run.timestamp[:15], TIMESTAMP_FORMAT).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        when = run.timestamp or "?"
    return f"{run.kind} {when}".strip()


def _descriptors(group: dict[str, ModelTaskResult]) -> dict[str, str]:
    """What could tell this series apart from another one of the same model, field by field."""
    run = next(iter(group.values())).run
    gen, env = run.generation, run.env_args
    system_prompt = env.get("system_prompt")
    return {
        "temperature": f"T={_fmt_num(gen['temperature'])}" if "temperature" in gen else "T=default",
        "max_tokens": f"max_tokens={gen['max_tokens']}" if "max_tokens" in gen else "max_tokens=default",
        "top_p": f"top_p={_fmt_num(gen['top_p'])}" if "top_p" in gen else "top_p=default",
        "sampling_seed": f"sampling seed={gen['seed']}" if "seed" in gen else "no sampling seed",
        "seed": f"seed={env.get('seed', PROMPT_ENV_ARGS['seed'])}",
        "prompt_placement": f"prompt in {env.get('prompt_placement', PROMPT_ENV_ARGS['prompt_placement'])}",
        "system_prompt": "default system prompt" if system_prompt is None else
        f"system prompt #{hashlib.sha256(str(system_prompt).encode()).hexdigest()[:6]}",
        "env_id": run.env_id or "",
        "run": _run_text(run),
        "source": Path(run.source).name,
    }


def _label_series(model: str, groups: list[dict[str, ModelTaskResult]]) -> list[str]:
    """Suffixes for the series of one model: empty unless two series cover the same task.

    Each pair of series sharing a task is told apart by the first thing that differs, in this
    order: the task's difficulty/config, generation settings, prompt-changing env args, the
    environment, the run's time, the folder name. A series shows only what its own pairs need,
    so a difficulty-3 run next to a default one reads `model [difficulty=3]` and `model`.
    """
    shared: dict[tuple[int, int], list[str]] = defaultdict(list)
    for t in dict.fromkeys(t for g in groups for t in g):
        ids = [i for i, g in enumerate(groups) if t in g]
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                shared[(ids[a], ids[b])].append(t)
    if not shared:
        return [""] * len(groups)
    desc = [_descriptors(g) for g in groups]
    colliding = [sorted({t for (i, j), ts in shared.items() if k in (i, j) for t in ts}) for k in range(len(groups))]
    # a series with one difficulty/config over its contested tasks shows it; a mixture with
    # several shows where it came from instead (the report's difficulty/config column has each)
    args_text = []
    for k, g in enumerate(groups):
        texts = {format_task_args(g[t].run.task_args) for t in colliding[k]}
        args_text.append(texts.pop() if len(texts) == 1 else desc[k]["env_id"] or desc[k]["run"])
    fields = ["args", *desc[0]]
    needed: list[set[str]] = [set() for _ in groups]
    for (i, j), tasks in shared.items():
        for name in fields:
            if name == "args":
                a = {format_task_args(groups[i][t].run.task_args) for t in tasks}
                b = {format_task_args(groups[j][t].run.task_args) for t in tasks}
                differs = a != b
            else:
                differs = desc[i][name] != desc[j][name]
            if differs:
                needed[i].add(name)
                needed[j].add(name)
                break

    def value(k: int, name: str) -> str:
        return args_text[k] if name == "args" else desc[k][name]

    suffixes = [", ".join(v for name in fields if name in needed[k] and (v := value(k, name))) for k in range(len(groups))]
    # the display of a mixture's args may coincide with another field; number what still clashes
    for (i, j) in shared:
        if suffixes[i] == suffixes[j]:
            for k in (i, j):
                name = desc[k]["source"]
                if name not in suffixes[k]:
                    suffixes[k] = f"{suffixes[k]}, {name}" if suffixes[k] else name
    for n, (i, j) in enumerate(p for p in shared if suffixes[p[0]] == suffixes[p[1]]):
        suffixes[j] = f"{suffixes[j]}, #{n + 2}"
    return suffixes


def build_table(results: list[ModelTaskResult], latest: bool = False) -> ResultsTable:
    """A table of loaded results (each with its `run`); see the module docstring for the rules."""
    notes: list[str] = []
    for r in results:
        if r.run is None:
            r.run = RunInfo(model=r.model, identity=f"{id(r)}", group=f"{id(r)}")

    def same_rollouts_note(best, rs):
        counts = {(r.n_rollouts, r.n_errors) for r in rs}
        if len(counts) == 1:  # a benchmark's per-task and all-tasks files: nothing to say
            return None
        return (f"{best.task} × {best.model}: {len(rs)} summaries of the same rollouts ({_names(rs)}); "
                f"the newest is used ({best.run.source})")

    results = _dedup(results, lambda r: (r.run.identity, r.run.settings(r.task)), _newest, notes, same_rollouts_note)
    if latest:
        results = _dedup(
            results, lambda r: r.run.settings(r.task), _newest, notes,
            lambda best, rs: (f"{best.task} × {best.model}: --latest kept {best.run.source}, set aside "
                              f"{_names(r for r in rs if r is not best)} (same settings)"),
        )

    # one series per (model, experiment, generation settings); a task repeated inside one is split by time
    series_key = {id(r): (r.run.group, json.dumps([r.run.generation, r.run.env_args], sort_keys=True, default=str))
                  for r in results}
    seen: dict[tuple, set] = defaultdict(set)
    repeated = set()
    for r in results:
        k = (r.run.model,) + series_key[id(r)]
        if r.task in seen[k]:
            repeated.add(k)
        seen[k].add(r.task)
    for r in results:
        if (r.run.model,) + series_key[id(r)] in repeated:
            series_key[id(r)] += (r.run.timestamp,)

    by_model: dict[str, dict[tuple, dict[str, ModelTaskResult]]] = {}
    for r in results:
        by_model.setdefault(r.run.model, {}).setdefault(series_key[id(r)], {})[r.task] = r
    for model, groups in by_model.items():
        group_list = list(groups.values())
        for g, suffix in zip(group_list, _label_series(model, group_list)):
            for r in g.values():
                r.run.suffix = suffix
                r.run.label = f"{model} [{suffix}]" if suffix else model

    table = ResultsTable(notes=notes)
    for r in results:
        table.add(r, r.run.label)
        table.series[r.run.label] = (r.run.model, r.run.suffix)
    return table


def require_task(table: ResultsTable, task: str) -> None:
    if task not in table.results:
        raise ResultsError(f"no results for task {task!r}{did_you_mean(task, table.tasks)}")


def require_model(table: ResultsTable, model: str) -> None:
    if model not in table.models:
        raise ResultsError(f"no results for model {model!r}{did_you_mean(model, table.models)}")
