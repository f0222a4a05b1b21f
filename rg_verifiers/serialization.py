"""JSON that keeps the Python types reasoning-gym scorers compare against.

Plain JSON turns tuples into lists (arc_agi/rearc gold then scores 0.05), cannot hold
Fraction (gsm_symbolic) and stringifies int dict keys (graph_color). Entries travel inside the
verifiers dataset's `info` column as one of these strings, so any process can score them.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

_TAG = "__rgv__"


def _encode(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
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
        raise ValueError(f"unknown tag {tag!r}")
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(_encode(obj), ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    return _decode(json.loads(text))
