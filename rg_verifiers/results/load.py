"""`load_results`: results files and run folders in, one `ResultsTable` out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

from . import readers
from .model import ModelTaskResult, PathLike, ResultsError
from .table import ResultsTable, build_table


def load_results(paths: Union[PathLike, Sequence[PathLike]], latest: bool = False) -> ResultsTable:
    """Load any mix of results files and run folders (see `readers` for the formats).

    A folder that is not itself a run is searched recursively for runs of every format, oldest
    first. Every distinct run is kept (see the package docstring for the keying and labels);
    `latest=True` keeps only the newest of runs with identical settings.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    loaded: list[ModelTaskResult] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ResultsError(f"results path not found: {p}")
        if p.is_dir() and readers.reader_for(p) is None:
            sources = readers.find(p)
            if not sources:
                raise ResultsError(f"no {readers.looked_for()} found under {p}")
        else:
            sources = [p]
        for src in sources:
            loaded += readers.read(src)
    if not loaded:
        raise ResultsError("the given results contain no (model, task) entries")
    return build_table(loaded, latest=latest)
