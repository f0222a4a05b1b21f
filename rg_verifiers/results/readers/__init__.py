"""The readers of results, one module per format, tried in the order of READERS.

A reader is a module with:

- `NAME`: what it reads, in words ("vf-eval -s folders"), for the message when a folder holds nothing;
- `can_read(path) -> bool`: cheap, from names and file presence only (no parsing): is `path` one run
  of this format? The first reader that says yes reads the path;
- `find(folder) -> Iterable[Path]`: the runs of this format anywhere under `folder` (recursive);
- `read(path) -> list[ModelTaskResult]`: the results of one run, each with its `RunInfo` (settings,
  source, group, identity, timestamp: see `model.RunInfo` and the package docstring), or a
  one-line `ResultsError`.

Adding a format is one new module here (copy `vf_eval.py`'s shape; `common.py` has the JSON and
time helpers) and one line in READERS. A folder format goes anywhere after `bench_json`; a file
format goes before it, since `bench_json` takes every file (so that a file of no known format gets
its reason from it: not JSON, no schema, another schema version). `NAME`s appear, in READERS order,
in the message for a folder with nothing to read.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

from ..model import ModelTaskResult, ResultsError
from . import bench_json, rg_eval, vf_eval, vf_eval_v1
from .common import file_stamp

READERS: list[ModuleType] = [
    bench_json,  # any file: a reader of another file format goes before it
    vf_eval,
    vf_eval_v1,
    rg_eval,
]


def reader_for(path: Path) -> ModuleType | None:
    return next((r for r in READERS if r.can_read(path)), None)


def read(path: Path) -> list[ModelTaskResult]:
    reader = reader_for(path)
    if reader is None:
        raise ResultsError(f"{path} is none of: {looked_for()}")
    return reader.read(path)


def looked_for() -> str:
    names = [r.NAME for r in READERS]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _sort_key(path: Path) -> tuple[str, str]:
    """Chronological key: the timestamp in our file names, else the modification time."""
    m = re.search(r"_(\d{8}_\d{6})(?:_shard\d+of\d+)?\.json$", path.name)
    if m:
        return (m.group(1), str(path))
    return (file_stamp(path / "metadata.json" if (path / "metadata.json").is_file() else path), str(path))


def find(folder: Path) -> list[Path]:
    """Every run any reader finds under `folder`, oldest first."""
    found = {p for r in READERS for p in r.find(folder)}
    return sorted(found, key=_sort_key)
