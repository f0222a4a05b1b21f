"""verifiers 0.4 run folders (`vf-eval -o DIR`, and `rgv eval` under verifiers 0.4): traces.jsonl +
configs/resolved/eval.json, read into vf-eval 0.1.x's row shape (rg_verifiers.traces) and summarised
like a 0.1.x folder. `rgv eval` adds rgv_provenance.json (label, generation settings, versions)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ...traces import TRACES_FILE, is_v1_run, iter_rows, read_metadata
from ..model import ModelTaskResult, ResultsError
from .common import read_json_file
from .vf_eval import results_of

NAME = "verifiers 0.4 run folders (traces.jsonl)"
PROVENANCE_FILE = "rgv_provenance.json"


def can_read(path: Path) -> bool:
    return is_v1_run(path)


def find(folder: Path) -> Iterable[Path]:
    return (t.parent for t in folder.rglob(TRACES_FILE) if can_read(t.parent))


def read(path: Path) -> list[ModelTaskResult]:
    try:
        meta = read_metadata(path)
    except (OSError, ValueError, AttributeError) as e:
        raise ResultsError(f"{path}: not a readable verifiers 0.4 run ({e})") from None
    if (path / PROVENANCE_FILE).is_file():
        meta["rgv_provenance"] = (read_json_file(path / PROVENANCE_FILE) or {}).get("rgv_provenance")

    def rows():
        try:
            yield from iter_rows(path)
        except ValueError as e:
            raise ResultsError(str(e)) from None

    return results_of(path, meta, rows(), path / TRACES_FILE, rows_file=TRACES_FILE)
