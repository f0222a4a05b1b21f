"""Scoring/generation worker: a separate process with time and memory limits.

Started by `pool.Worker` with PYTHONHASHSEED=0 and a scratch cwd (codeio writes files while
generating). Speaks JSON over two pipes; nothing it sends back is unpickled by the parent.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from multiprocessing.connection import Connection


def _limit_memory(limit_mb: int) -> None:
    if limit_mb > 0:
        limit = limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _cpu_backstop(timeout_s: float | None) -> None:
    """At most timeout_s (+5 s) more CPU seconds for the next answer, enforced by the kernel (SIGXCPU).

    The parent kills a worker at the wall-clock timeout, which comes first while it lives; this bound
    is for a worker whose parent was killed: busy in one C-level computation (a huge integer power
    holds the GIL) it never reads its pipe again, and would compute on for as long as it takes
    (seen: an orphan at 100% CPU for 35 min)."""
    if not timeout_s:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = used + int(timeout_s) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _neutralise_eval() -> None:
    import importlib

    from .guards import EVAL_SCORER_MODULES, bounded_literal_eval

    for module in EVAL_SCORER_MODULES.values():
        # a module global shadows the builtin: these scorers now parse literals only
        importlib.import_module(module).eval = bounded_literal_eval


def main() -> None:
    read_fd, write_fd, limit_mb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    # reasoning-gym prints while generating (codeio); keep stdout away from anything
    os.dup2(2, 1)
    conn_in, conn_out = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    import reasoning_gym  # noqa: F401

    from .. import serialization
    from .core import dataset_for, generate_entry, score_answer

    _neutralise_eval()
    _limit_memory(limit_mb)
    conn_out.send_bytes(b'{"ready": true}')
    while True:
        try:
            request = json.loads(conn_in.recv_bytes())
        except EOFError:
            return
        op = request["op"]
        if op == "score":
            for i, (task, config_json, entry_json, answer) in enumerate(request["items"]):
                _cpu_backstop(request.get("timeout_s"))
                try:
                    result = score_answer(task, config_json, serialization.loads(entry_json), answer,
                                          request["max_answer_chars"])
                    reply = {"i": i, "score": result.score, "status": result.status}
                except Exception:  # e.g. a config that cannot build the dataset
                    reply = {"i": i, "score": 0.0, "status": "error"}
                conn_out.send_bytes(json.dumps(reply).encode())
        elif op == "generate":
            ds = dataset_for(request["task"], request["config"])
            for idx in range(request["start"], request["stop"]):
                try:
                    reply = {"i": idx, "entry": serialization.dumps(generate_entry(ds, idx))}
                except Exception as exc:
                    reply = {"i": idx, "error": f"{type(exc).__name__}: {exc}"}
                conn_out.send_bytes(json.dumps(reply).encode())


if __name__ == "__main__":
    main()
