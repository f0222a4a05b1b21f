"""What several readers need: a JSON file read with one-line errors, a mapping or {}, a file's time."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from ..model import TIMESTAMP_FORMAT, ResultsError


def read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not valid JSON ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path} is not a UTF-8 text file") from None
    except OSError as e:
        raise ResultsError(f"cannot read {path}: {e.strerror or e}") from None


def mapping(value: Any) -> dict:
    return dict(value) if isinstance(value, Mapping) else {}


def file_stamp(path: Path) -> str:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).strftime(TIMESTAMP_FORMAT)
    except OSError:
        return ""
