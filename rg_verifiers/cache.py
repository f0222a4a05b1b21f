"""What rg-verifiers keeps under $RGV_CACHE_DIR (default ~/.cache/rg-verifiers), and pruning it.

GGUF exports of trained checkpoints (`rgv eval/bench/serve -m DIR`) are 540 MB each for the
embedded model's size and one is added per checkpoint folder evaluated: they are what `rgv cache
prune` removes. The embedded model's converted copy (models/) is removed only when asked
(--include-model): every CPU training run and evaluation needs it and rebuilding it takes a minute.
Generated splits and llama.cpp's converter are listed, never pruned (small, and rebuilt on use).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .embedded import cache_root
from .errors import RGVError

KINDS = ("model", "gguf", "splits", "converter")
PRUNABLE = ("gguf",)


@dataclass(frozen=True)
class CachedItem:
    kind: str  # one of KINDS
    path: Path
    size: int  # bytes
    last_used: float  # epoch seconds: a GGUF export's last cache hit, else the newest file time
    source: Optional[str] = None  # the checkpoint folder a GGUF export was converted from


def _walk(path: Path) -> tuple[int, float]:
    """(total bytes, newest mtime) of a file or folder."""
    if path.is_file():
        st = path.stat()
        return st.st_size, st.st_mtime
    size, newest = 0, path.stat().st_mtime
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:  # removed while we looked
                continue
            size += st.st_size
            newest = max(newest, st.st_mtime)
    return size, newest


def _gguf_item(folder: Path) -> CachedItem:
    size, newest = _walk(folder)
    source_file = folder / "source.json"
    source, last_used = None, newest
    if source_file.is_file():
        last_used = source_file.stat().st_mtime  # export_checkpoint touches it on every cache hit
        try:
            source = json.loads(source_file.read_text(encoding="utf-8")).get("checkpoint")
        except (OSError, ValueError, AttributeError):
            pass
    return CachedItem("gguf", folder, size, last_used, source)


def cached_items(root: Optional[Path] = None) -> list[CachedItem]:
    """Everything in the cache, by kind, then most recently used first."""
    root = Path(root) if root is not None else cache_root()
    items: list[CachedItem] = []
    for kind, sub in (("model", "models"), ("gguf", "gguf"), ("converter", "tools")):
        folder = root / sub
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if kind == "gguf" and path.is_dir():
                    items.append(_gguf_item(path))
                else:
                    items.append(CachedItem(kind, path, *_walk(path)))
    splits = root / "splits"
    if splits.is_dir():  # one entry: a file per (task, config, seed, size) generated
        items.append(CachedItem("splits", splits, *_walk(splits)))
    return sorted(items, key=lambda it: (KINDS.index(it.kind), -it.last_used))


def select_prune(items: list[CachedItem], older_than_days: Optional[float] = None, keep: Optional[int] = None,
                 include_model: bool = False, now: Optional[float] = None) -> list[CachedItem]:
    """The GGUF exports (and with include_model the model copy) that the rules allow removing: unused for
    more than `older_than_days` and not among the `keep` most recently used; no rule: all of them."""
    if older_than_days is not None and older_than_days < 0:
        raise RGVError(f"--older-than must be a number of days >= 0, got {older_than_days:g}")
    if keep is not None and keep < 0:
        raise RGVError(f"--keep must be >= 0, got {keep}")
    now = time.time() if now is None else now
    kinds = PRUNABLE + (("model",) if include_model else ())
    out = []
    for kind in kinds:
        ranked = sorted((it for it in items if it.kind == kind), key=lambda it: -it.last_used)
        for rank, it in enumerate(ranked):
            if keep is not None and rank < keep:
                continue
            if older_than_days is not None and now - it.last_used <= older_than_days * 86400:
                continue
            out.append(it)
    return out


def remove(item: CachedItem) -> None:
    if item.path.is_dir():
        shutil.rmtree(item.path)
    else:
        item.path.unlink(missing_ok=True)


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")
