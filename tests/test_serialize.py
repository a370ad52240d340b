"""Tests for expt.serialize: the one rule that makes values JSON-safe."""
import json
import logging
import math
import os
from collections import OrderedDict
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from expt import serialize
from expt.serialize import dumps, to_json_safe, to_safe, write_json_atomic, write_text_atomic


@pytest.mark.parametrize("value, expected", [
    (None, None), (True, True), (3, 3), (2.5, 2.5), ("s", "s"),
    ((1, 2), [1, 2]), ({1, }, [1]), (frozenset([2]), [2]), ([(1, 2)], [[1, 2]]),
    ({1: "a", ("t",): 2}, {"1": "a", "('t',)": 2}), (OrderedDict(a=1), {"a": 1}),
    (Path("/tmp/x"), "/tmp/x"), (PurePosixPath("a/b"), "a/b"), (b"bytes", "bytes"),
    (np.float32(0.5), 0.5), (np.int64(3), 3), (np.bool_(False), False),
    (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]), (np.array(1.5), 1.5),
    ({"nested": [np.arange(3), (Path("p"), {"d": np.float64(2)})]},
     {"nested": [[0, 1, 2], ["p", {"d": 2.0}]]}),
])
def test_conversions(value, expected):
    """Containers, numpy values, paths and bytes become plain JSON types."""
    safe = to_safe(value)
    assert safe == expected
    assert json.loads(json.dumps(safe)) == expected


def test_numpy_values_become_python_types():
    """numpy scalars become exactly int/float/bool, not numpy subclasses."""
    values = [np.int32(1), np.float16(1), np.bool_(True), np.float64(2), np.str_("s")]
    assert [type(v) for v in to_safe(values)] == [int, float, bool, float, str]


def test_datetimes_kept_for_bson_and_iso_for_json():
    """to_safe keeps datetimes (BSON stores them); to_json_safe writes ISO strings."""
    stamp = datetime(2024, 1, 2, 3, 4, 5, 6)
    assert to_safe({"t": stamp})["t"] is stamp
    assert to_json_safe({"t": stamp, "d": date(2024, 1, 2)}) == {
        "t": "2024-01-02T03:04:05.000006", "d": "2024-01-02"}


def test_non_finite_floats_pass_through():
    """NaN and infinities are left alone (the JSON writers spell them as Sacred does)."""
    safe = to_safe([math.nan, math.inf, -math.inf])
    assert math.isnan(safe[0]) and safe[1:] == [math.inf, -math.inf]
    assert dumps([math.inf], indent=None) == "[Infinity]"


def test_anything_else_is_its_repr_with_one_warning_per_type(caplog):
    """Unknown objects are stored as repr() with one warning per type, never a pickle blob."""
    class Opaque:
        def __repr__(self):
            return "<Opaque>"
    serialize._warned_types.discard(Opaque)
    with caplog.at_level(logging.WARNING, logger="expt.serialize"):
        assert to_safe({"a": Opaque(), "b": [Opaque()]}) == {"a": "<Opaque>", "b": ["<Opaque>"]}
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["Storing a Opaque as its repr(): it is not JSON-serializable."]
    assert "py/object" not in dumps({"x": Opaque()})


def test_dumps_is_valid_json():
    """dumps() gives indented JSON text of the safe value."""
    text = dumps({"p": Path("x"), "t": (1, 2)})
    assert json.loads(text) == {"p": "x", "t": [1, 2]} and "\n  " in text


def test_write_json_atomic_replaces_whole_file(tmp_path):
    """The file holds the complete new JSON, and no temporary file is left behind."""
    target = tmp_path / "run.json"
    target.write_text('{"old": true}')
    write_json_atomic(target, {"status": "COMPLETED", "v": np.float64(1.5)})
    assert json.loads(target.read_text()) == {"status": "COMPLETED", "v": 1.5}
    assert os.listdir(tmp_path) == ["run.json"]


def test_write_text_atomic_never_leaves_partial_file(tmp_path):
    """If the write fails, the old file stays intact and no temporary file is left."""
    target = tmp_path / "cout.txt"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_text_atomic(target, 12345)  # not text: fails while writing the temporary file
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["cout.txt"]
