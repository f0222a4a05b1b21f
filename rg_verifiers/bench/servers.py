"""vLLM servers for local HF models / checkpoints / LoRA adapters, one per GPU group.

- GPUs are split into groups of `--tensor-parallel` (`gpu_groups`); each group runs one
  OpenAI-compatible vLLM server at a time, pinned with CUDA_VISIBLE_DEVICES.
- `plan_jobs` decides what each server serves: a server serves one model, and all of that
  model's tasks share it. With fewer models than GPU groups a model gets several servers
  (replicas) and its tasks are dealt to them round-robin; with more, models wait for a free
  group (a queue, so a fast model does not hold a GPU group idle).
- Start-up is checked on `GET /health` with a deadline; a server that dies is reported at once
  with its exit code and the last line of its log (`<output_dir>/logs/`).
- Servers run in their own process group and are always stopped: try/finally around each
  job, plus an atexit sweep for anything left (SIGTERM, then SIGKILL after a grace period),
  so a cancelled or crashed benchmark does not leave GPUs occupied.
- `RGV_VLLM_CMD` replaces `python -m vllm.entrypoints.openai.api_server` (tests use a fake
  server executable; a site may need a wrapper such as `apptainer exec ... python -m vllm...`).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shlex
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from ..errors import RGVError
from ..serve import free_port
from .local_gpu import cuda_device_count, local_serving_problem, vllm_command
from .spec import ModelSpec
from .store import safe_name


class ServerError(RGVError):
    """A model server did not come up; the message names the model, the reason and the log."""


def require_local_serving(models: Sequence[ModelSpec]) -> None:
    local = [m for m in models if m.needs_gpu]
    if not local:
        return
    problem = local_serving_problem()
    if problem:
        m = local[0].label
        raise RGVError(f"model {m!r} needs vLLM on a GPU, but {problem}: serve it elsewhere and pass "
                       f"'{m}=http://HOST:PORT/v1', or run on a GPU node (`rgv slurm bench` writes such a job)")


def visible_gpus(requested: Optional[int]) -> list[str]:
    """GPU ids to hand out; respects a CUDA_VISIBLE_DEVICES set by Slurm for this job."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    ids = [g.strip() for g in env.split(",") if g.strip()] if env else []
    if not ids:
        count = cuda_device_count() if requested is None else requested
        ids = [str(i) for i in range(max(count, 1))]
    if requested is not None:
        if requested > len(ids):
            raise RGVError(f"--gpus {requested} but only {len(ids)} GPU(s) are visible (CUDA_VISIBLE_DEVICES={env!r})")
        ids = ids[:requested]
    return ids


def gpu_groups(gpu_ids: Sequence[str], tensor_parallel: int) -> list[list[str]]:
    if tensor_parallel > len(gpu_ids):
        raise RGVError(f"--tensor-parallel {tensor_parallel} needs at least that many GPUs; {len(gpu_ids)} available")
    # leftover GPUs (8 GPUs, tp 3) stay idle rather than run an uneven tensor-parallel group
    return [list(gpu_ids[i:i + tensor_parallel]) for i in range(0, len(gpu_ids) - tensor_parallel + 1, tensor_parallel)]


# ---------------------------------------------------------------------------------------------
# plan


@dataclass
class Job:
    model: ModelSpec
    tasks: list[str]
    replica: int = 0


def plan_jobs(models: Sequence[ModelSpec], tasks: Union[Sequence[str], Mapping[str, Sequence[str]]],
              n_groups: int) -> list[Job]:
    """Server jobs: one per model, or several replicas sharing its tasks when GPUs outnumber models.

    `tasks` is every model's task list, or a mapping model label -> its tasks (a `--shard` gives a
    model only some of the tasks; a replica must not be started for tasks it will not run).
    """
    def tasks_of(m: ModelSpec) -> list[str]:
        return list(tasks.get(m.label, ())) if isinstance(tasks, Mapping) else list(tasks)

    models = [m for m in models if tasks_of(m)]
    if not models:
        return []
    if len(models) >= n_groups:
        return [Job(m, tasks_of(m)) for m in models]
    jobs = []
    for i, m in enumerate(models):
        mine = tasks_of(m)
        replicas = min(n_groups // len(models) + (i < n_groups % len(models)), len(mine))
        for r in range(replicas):
            jobs.append(Job(m, [t for j, t in enumerate(mine) if j % replicas == r], r))
    # interleave replicas of different models so every model starts in the first wave
    return sorted(jobs, key=lambda j: (j.replica, models.index(j.model)))


# ---------------------------------------------------------------------------------------------
# one server


_LIVE: set["LocalServer"] = set()


@dataclass(eq=False)
class LocalServer:
    model: ModelSpec
    gpu_ids: list[str]
    log_dir: Path
    tensor_parallel: int = 1
    port: int = field(default_factory=free_port)
    proc: Optional[subprocess.Popen] = None
    log_path: Optional[Path] = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        m = self.model
        cmd = vllm_command() + ["--model", m.target, "--host", "127.0.0.1", "--port", str(self.port),
                                "--tensor-parallel-size", str(self.tensor_parallel)]
        if m.kind == "lora":
            cmd += ["--enable-lora", "--lora-modules", f"{m.request_name}={m.lora_path}"]
            if m.lora_rank and m.lora_rank > 16:  # vLLM's default max rank is 16
                cmd += ["--max-lora-rank", str(1 << (m.lora_rank - 1).bit_length())]
        return cmd

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"vllm_{safe_name(self.model.label)}_gpu{'-'.join(self.gpu_ids)}.log"
        env = dict(os.environ, CUDA_VISIBLE_DEVICES=",".join(self.gpu_ids))
        with open(self.log_path, "ab") as log:
            log.write(f"$ CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']} {shlex.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True)
        _LIVE.add(self)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def _log_tail(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            lines = []
        return lines[-1].strip()[:300] if len(lines) > 1 else "(no output)"

    async def wait_ready(self, timeout_s: float, poll_s: float = 0.5) -> None:
        deadline = time.monotonic() + timeout_s
        while not await asyncio.to_thread(self._healthy):
            if self.proc.poll() is not None:
                raise ServerError(f"vLLM server for {self.model.label!r} on GPU {','.join(self.gpu_ids)} exited with code "
                                  f"{self.proc.returncode}: {self._log_tail()} (log: {self.log_path})")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"vLLM server for {self.model.label!r} did not answer /health within {timeout_s:.0f} s "
                                  f"(log: {self.log_path}); raise --server-timeout for big models")
            await asyncio.sleep(poll_s)

    def stop(self, grace_s: float = 30.0) -> None:
        if self.proc is None:
            return
        # the whole process group: vLLM forks engine/worker processes that hold the GPUs
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        _reap_group(self.proc.pid)
        _LIVE.discard(self)


def _reap_group(pgid: int) -> None:
    """Children that outlived the leader (they ignore SIGTERM) still hold GPU memory."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@atexit.register
def stop_all() -> None:
    for server in list(_LIVE):
        server.stop(grace_s=5.0)


# ---------------------------------------------------------------------------------------------
# many servers


async def run_jobs(jobs: Sequence[Job], groups: Sequence[Sequence[str]], log_dir: Path, tensor_parallel: int,
                   timeout_s: float, run_job, on_event=None) -> list[str]:
    """Run `jobs` on `groups` of GPUs, one server per group at a time.

    `run_job(job, server)` is awaited with a ready server. A server that fails to start costs
    only its own job (returned as failure lines); the other models go on.
    """
    queue = list(jobs)
    failures: list[str] = []
    say = on_event or (lambda msg: None)

    async def slot(gpu_ids):
        while queue:
            job = queue.pop(0)
            server = LocalServer(job.model, list(gpu_ids), log_dir, tensor_parallel)
            try:
                server.start()
                say(f"starting vLLM for {job.model.label} on GPU {','.join(gpu_ids)} (log: {server.log_path})")
                t0 = time.monotonic()
                await server.wait_ready(timeout_s)
                say(f"vLLM for {job.model.label} ready in {time.monotonic() - t0:.0f} s")
                await run_job(job, server)
            except ServerError as exc:
                failures.append(str(exc))
                say(f"[red]{exc}[/]")
            finally:
                try:
                    await asyncio.shield(asyncio.to_thread(server.stop))
                except asyncio.CancelledError:  # cancelled again while stopping: finish it here
                    server.stop()
                    raise

    async with asyncio.TaskGroup() as tg:
        for gpu_ids in groups:
            tg.create_task(slot(gpu_ids))
    return failures
