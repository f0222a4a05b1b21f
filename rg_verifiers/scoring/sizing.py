"""How many sandboxed scoring workers this node gets by default.

One worker per core the process may run on, minus one core for the trainer's own process on nodes with
more than two cores, and no more workers than a quarter of the available memory holds at
WORKER_RSS_MB each. RGV_SCORING_WORKERS overrides the count.

Why these bounds: a 512-rollout step of the slowest sandboxed task needs tens of workers to be scored
before one H100 has generated it (bench/bench_scoring.py --scaling, docs/grpo.md), so `min(2, cores)`
left a GPU node's cores idle; workers are idle between steps, so sharing cores with the trainer costs
little, but their memory is held for the whole run, next to the model, vLLM's host buffers and
the data loaders, hence a quarter of what is free, not all of it.
"""

from __future__ import annotations

import os

from ..errors import RGVError

# Resident set of one warm worker after scoring each sandboxed task (reasoning-gym, sympy and the
# scorers' datasets imported): 150-175 MB measured here (bench/bench_scoring.py --scaling prints it);
# rounded up for scorers that build larger intermediate values.
WORKER_RSS_MB = 256
MEMORY_SHARE = 0.25
WORKERS_VAR = "RGV_SCORING_WORKERS"


def default_workers(cores: int, available_mb: float, worker_mb: float = WORKER_RSS_MB,
                    memory_share: float = MEMORY_SHARE) -> int:
    """Workers for a node with `cores` usable cores and `available_mb` of available memory."""
    by_cores = cores - 1 if cores > 2 else cores
    by_memory = int(available_mb * memory_share // worker_mb)
    return max(1, min(by_cores, by_memory))


def usable_cores() -> int:
    """Cores this process may run on: a SLURM or taskset CPU set, not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_memory_mb() -> float:
    """MemAvailable, or the cgroup's remaining limit when that is lower (containers, SLURM jobs)."""
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) / 1024
                    break
    except OSError:
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (ValueError, OSError, AttributeError):
            available = float(4 * WORKER_RSS_MB / MEMORY_SHARE)  # unknown: enough for a few workers
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
        if limit != "max":
            available = min(available, (int(limit) - used) / 2**20)
    except (OSError, ValueError):
        pass
    return max(0.0, available)


def worker_count() -> int:
    """RGV_SCORING_WORKERS when set, else the default for this node."""
    raw = os.environ.get(WORKERS_VAR, "").strip()
    if not raw:
        return default_workers(usable_cores(), available_memory_mb())
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise RGVError(f"{WORKERS_VAR}={raw!r} is not a worker count; set it to a whole number >= 1, "
                       f"or unset it for the default ({default_workers(usable_cores(), available_memory_mb())} here)")
    return n
