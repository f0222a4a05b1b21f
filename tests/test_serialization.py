import datetime as dt
from fractions import Fraction

import pytest

from rg_verifiers import serialization as S


def test_types_that_plain_json_loses_survive():
    obj = {"grid": ((1, 2), (3, 4)), "frac": Fraction(3, 7), 1: "int key", (0, 1): [1, (2,)],
           "when": dt.date(2024, 2, 29), "at": dt.datetime(2024, 1, 1, 12, 30), "dur": dt.timedelta(days=2, seconds=5),
           "s": {3, 4}}
    back = S.loads(S.dumps(obj))
    assert back == obj and isinstance(back["grid"], tuple) and isinstance(back["grid"][0], tuple)


def test_reasoning_gym_enums_and_dataclasses_keep_their_class():
    from reasoning_gym.logic.aiw import TaskType

    back = S.loads(S.dumps({"t": [TaskType.SIBLINGS]}))
    assert back["t"][0] is TaskType.SIBLINGS


def test_foreign_classes_are_refused():
    evil = '{"__rgv__": "enum", "cls": "os:system", "v": "touch x"}'
    with pytest.raises(ValueError, match="refusing"):
        S.loads(evil)
