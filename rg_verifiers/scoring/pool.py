"""Worker processes for scoring and generation, restarted when they hang or die."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from typing import Iterator

from .core import ScoreResult

STARTUP_TIMEOUT_S = 120.0  # importing reasoning-gym takes 4-7 s; much more on a busy machine


class WorkerDied(RuntimeError):
    pass


class Worker:
    """One subprocess. Not thread-safe: the pool hands it to one thread at a time."""

    def __init__(self, memory_mb: int = 4096):
        self.memory_mb = memory_mb
        self.proc: subprocess.Popen | None = None
        self.scratch = tempfile.mkdtemp(prefix="rgv-worker-")
        self.restarts = 0

    def start(self) -> None:
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
        # the worker's cwd is a scratch dir, so make this very package importable there
        package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
        log = os.environ.get("RGV_WORKER_LOG")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rg_verifiers.scoring.worker", str(p2c_r), str(c2p_w), str(self.memory_mb)],
            pass_fds=(p2c_r, c2p_w), cwd=self.scratch, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(log, "ab") if log else subprocess.DEVNULL,
            start_new_session=True,  # so a kill takes anything the scorer spawned with it
        )
        os.close(p2c_r)
        os.close(c2p_w)
        self._out = Connection(p2c_w, readable=False)
        self._in = Connection(c2p_r, writable=False)
        self._recv(STARTUP_TIMEOUT_S)

    def ensure_started(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.start()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        for conn in (getattr(self, "_out", None), getattr(self, "_in", None)):
            if conn is not None:
                conn.close()
        self._out = self._in = None

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def _recv(self, timeout: float) -> dict:
        try:
            ready = self._in.poll(timeout)
            if ready:
                return json.loads(self._in.recv_bytes())
        except (EOFError, OSError) as exc:
            raise WorkerDied(str(exc)) from None
        raise TimeoutError  # outside the try: TimeoutError is an OSError

    def request(self, payload: dict, n_replies: int, timeout: float) -> Iterator[dict]:
        """Send one request; yield its replies, each within `timeout` of the previous one."""
        self.ensure_started()
        try:
            self._out.send_bytes(json.dumps(payload).encode())
        except (OSError, BrokenPipeError) as exc:
            raise WorkerDied(str(exc)) from None
        for _ in range(n_replies):
            yield self._recv(timeout)

    def score(self, items: list[tuple], timeout: float, max_answer_chars: int) -> list[ScoreResult]:
        """Score items in order; a hang or death costs only the item that caused it."""
        results: list[ScoreResult] = []
        while len(results) < len(items):
            rest = items[len(results):]
            try:
                for reply in self.request({"op": "score", "items": rest, "max_answer_chars": max_answer_chars,
                                           "timeout_s": timeout},
                                          len(rest), timeout):
                    results.append(ScoreResult(float(reply["score"]), reply["status"]))
            except TimeoutError:
                results.append(ScoreResult(0.0, "timeout"))
                if len(results) == len(items):  # nothing left: reply now, start afresh on the next request
                    self.kill()
                    self.restarts += 1
                    break
                if not self._try_restart():
                    break
            except WorkerDied:
                results.append(ScoreResult(0.0, "crashed"))
                if not self._try_restart():
                    break
        # a worker that cannot even start: everything left is a crash, not an exception
        results += [ScoreResult(0.0, "crashed")] * (len(items) - len(results))
        return results

    def _try_restart(self) -> bool:
        try:
            self.restart()
            return True
        except (WorkerDied, TimeoutError):
            self.kill()
            return False

    def __del__(self):
        try:
            self.kill()
        except Exception:
            pass


class WorkerPool:
    """A fixed set of workers, started lazily; `checkout()` lends one to a thread."""

    def __init__(self, size: int = 2, memory_mb: int = 4096):
        self.size = max(1, size)
        self.workers = [Worker(memory_mb) for _ in range(self.size)]
        self._idle: queue.Queue[Worker] = queue.Queue()
        for w in self.workers:
            self._idle.put(w)
        self._warm = threading.Lock()

    def warm_up(self, background: bool = True) -> None:
        """Start all workers now (in parallel), so the first score does not pay the import."""
        def start_one():
            with self.checkout() as worker:  # leased, so no request can race the start
                try:
                    worker.ensure_started()
                except Exception:
                    pass  # the first real request retries and reports

        def run():
            with self._warm:
                threads = [threading.Thread(target=start_one, daemon=True) for _ in self.workers]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
        if background:
            threading.Thread(target=run, daemon=True).start()
        else:
            run()

    def checkout(self):
        pool = self

        class _Lease:
            def __enter__(self):
                self.worker = pool._idle.get()
                return self.worker

            def __exit__(self, *exc):
                pool._idle.put(self.worker)

        return _Lease()

    def close(self) -> None:
        for w in self.workers:
            w.kill()

    @property
    def restarts(self) -> int:
        return sum(w.restarts for w in self.workers)
