"""JSON that keeps the Python types reasoning-gym scorers compare against.

Plain JSON turns tuples into lists (arc_agi/rearc gold then scores 0.05), cannot hold
Fraction (gsm_symbolic) and stringifies int dict keys (graph_color). Entries travel inside the
verifiers dataset's `info` column as one of these strings, so any process can score them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import importlib
import json
from fractions import Fraction
from typing import Any

_TAG = "__rgv__"
# Only reasoning-gym's own enums and dataclasses are rebuilt from a class path.
_TRUSTED_PREFIX = "reasoning_gym."


def _class_path(obj: Any) -> str:
    cls = type(obj)
    path = f"{cls.__module__}:{cls.__qualname__}"
    if not path.startswith(_TRUSTED_PREFIX):
        raise TypeError(f"cannot serialise {path}")
    return path


def _load_class(path: str):
    if not path.startswith(_TRUSTED_PREFIX):
        raise ValueError(f"refusing to load class {path!r}")
    module, _, qualname = path.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _encode(obj: Any) -> Any:
    if isinstance(obj, enum.Enum):  # before str/int: TaskType(str, Enum) must stay an Enum
        return {_TAG: "enum", "cls": _class_path(obj), "v": _encode(obj.value)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return {_TAG: "dataclass", "cls": _class_path(obj), "v": fields}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):  # datetime before date: it is one
        return {_TAG: type(obj).__name__, "v": obj.isoformat()}
    if isinstance(obj, dt.timedelta):
        return {_TAG: "timedelta", "v": [obj.days, obj.seconds, obj.microseconds]}
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    if isinstance(obj, tuple):
        return {_TAG: "tuple", "v": [_encode(v) for v in obj]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and _TAG not in obj:
            return {k: _encode(v) for k, v in obj.items()}
        return {_TAG: "dict", "v": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if isinstance(obj, Fraction):
        return {_TAG: "fraction", "v": [obj.numerator, obj.denominator]}
    if isinstance(obj, (set, frozenset)):
        return {_TAG: type(obj).__name__, "v": [_encode(v) for v in obj]}
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):  # numpy arrays
        return _encode(obj.tolist())
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _decode(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if isinstance(obj, dict):
        tag = obj.get(_TAG)
        if tag is None:
            return {k: _decode(v) for k, v in obj.items()}
        v = obj["v"]
        if tag == "tuple":
            return tuple(_decode(x) for x in v)
        if tag == "dict":
            return {_hashable(_decode(k)): _decode(val) for k, val in v}
        if tag == "fraction":
            return Fraction(v[0], v[1])
        if tag == "set":
            return {_decode(x) for x in v}
        if tag == "frozenset":
            return frozenset(_decode(x) for x in v)
        if tag in ("datetime", "date", "time"):
            return getattr(dt, tag).fromisoformat(v)
        if tag == "timedelta":
            return dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
        if tag == "enum":
            return _load_class(obj["cls"])(_decode(v))
        if tag == "dataclass":
            return _load_class(obj["cls"])(**{k: _decode(x) for k, x in v.items()})
        raise ValueError(f"unknown tag {tag!r}")
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(_encode(obj), ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    return _decode(json.loads(text))
