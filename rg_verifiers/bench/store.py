"""Crash-safe rollout logs: one JSONL file per (model, task), one line per finished rollout.

A rollout exists once its line is on disk, and only then: a run killed at any point (Ctrl-C,
SIGTERM from Slurm, SIGKILL, a dead node) leaves complete lines plus at most one torn last
line. `--resume` drops the torn tail (truncating it, so new lines never follow garbage),
keeps the first line of each (example_id, rollout) and asks only for the rest.

Lines finished in the same event-loop tick are written with one write + flush + fsync (group
commit): per-line fsync costs ~0.2 ms here, which would cap a fast endpoint at ~5k rollouts/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Optional

from ..errors import RGVError

Key = tuple[int, int]  # (example_id, rollout index)


def safe_name(name: str) -> str:
    """A model id or path as a file-name part (`Qwen/Qwen2.5-7B` -> `Qwen_Qwen2.5-7B`)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "model"


def rollouts_path(output_dir: Path, model: str, task: str) -> Path:
    return Path(output_dir) / "rollouts" / f"{safe_name(model)}__{task}.jsonl"


def read_rollouts(path: Path) -> tuple[dict[Key, dict], int, int]:
    """(first record per key, byte length of the intact prefix, bad lines skipped)."""
    records: dict[Key, dict] = {}
    good = bad = 0
    if not path.exists():
        return records, 0, 0
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:  # torn last line: the process died mid-write
            break
        line = data[pos:end]
        pos = end + 1
        try:
            rec = json.loads(line)
            key = (int(rec["example_id"]), int(rec["rollout"]))
        except (ValueError, KeyError, TypeError):
            bad += bool(line.strip())
            good = pos
            continue
        records.setdefault(key, rec)
        good = pos
    return records, good, bad


def provenance_path(path: Path) -> Path:
    """The provenance of a rollouts file: `<model>__<task>.provenance.json` next to it."""
    return Path(path).with_suffix(".provenance.json")


class RolloutStore:
    """Append-only log of one (model, task) pair.

    The file (and its provenance next to it) is created with the first rollout, so a run that
    fails before asking anything leaves no empty files behind.
    """

    def __init__(self, path: Path, resume: bool):
        self.path = Path(path)
        self.records: dict[Key, dict] = {}
        self.skipped_bad = 0
        self.provenance: Optional[dict] = None  # written next to the file with its first line
        if self.path.exists() and self.path.stat().st_size:
            if not resume:
                raise RGVError(f"{self.path} holds rollouts of an earlier run: pass --resume to continue it, "
                               f"or use another --output-dir")
            self.records, good, self.skipped_bad = read_rollouts(self.path)
            if good < self.path.stat().st_size:
                os.truncate(self.path, good)
        self._file = None
        self._closed = False
        self._pending: list[bytes] = []
        self._scheduled = False

    def saved_provenance(self) -> Optional[dict]:
        try:
            return json.loads(provenance_path(self.path).read_text(encoding="utf-8")).get("provenance")
        except (OSError, ValueError, AttributeError):
            return None

    def check_settings(self, provenance: dict) -> None:
        """Refuse to mix rollouts asked with other generation settings, env args or weights in one file."""
        saved = self.saved_provenance() if self.records else None
        if not saved:
            return
        if saved.get("weights") is not None and saved["weights"] != provenance.get("weights"):
            raise RGVError(f"{self.path}: its rollouts came from other weights at {provenance.get('label')} (digest "
                           f"{saved['weights']}, now {provenance.get('weights')}: retrained or replaced since that "
                           f"run); use another --output-dir, or delete the file to start it again")
        for key in ("generation", "env_args"):
            if saved.get(key) is not None and saved.get(key) != provenance.get(key):
                raise RGVError(f"{self.path}: its rollouts were asked with {key} {json.dumps(saved.get(key), sort_keys=True)}, "
                               f"this run uses {json.dumps(provenance.get(key), sort_keys=True)}; use another --output-dir")

    def check_prompts(self, prompt_hashes: dict[int, str]) -> None:
        """Refuse to mix rollouts of different items (changed seed/config/prompt) in one file."""
        for (ex, _), rec in self.records.items():
            if ex in prompt_hashes and rec.get("prompt_hash") != prompt_hashes[ex]:
                raise RGVError(f"{self.path}: example {ex} was asked with a different prompt (seed, task config or "
                               f"prompt changed since that run); use another --output-dir")

    def add(self, record: dict) -> None:
        key = (int(record["example_id"]), int(record["rollout"]))
        if key in self.records:  # never write a key twice, whatever the caller does
            return
        self.records[key] = record
        self._pending.append(json.dumps(record, ensure_ascii=False, default=str).encode() + b"\n")
        if not self._scheduled:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
                self._scheduled = True
            except RuntimeError:  # no loop (tests, sync callers): write now
                self.flush()

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending or self._closed:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.provenance is not None and not provenance_path(self.path).exists():
                from ..provenance import write_json_atomic

                write_json_atomic({"provenance": self.provenance}, provenance_path(self.path))
            self._file = open(self.path, "ab")
        data, self._pending = b"".join(self._pending), []
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._closed:
            self.flush()
            self._closed = True
            if self._file is not None:
                self._file.close()

    def done(self, keys) -> list[Key]:
        return [k for k in keys if k in self.records]

    def selected(self, n: int, rollouts: int) -> list[dict]:
        """Records of this run's grid (a resumed run may have asked for a smaller n or r)."""
        return [r for (ex, ro), r in sorted(self.records.items()) if ex < n and ro < rollouts]


def open_stores(paths: dict, resume: bool) -> dict:
    """Open all stores or none: a refusal on the 5th must not leave 4 files open."""
    opened = {}
    try:
        for key, path in paths.items():
            opened[key] = RolloutStore(path, resume)
    except BaseException:
        for store in opened.values():
            store.close()
        raise
    return opened

