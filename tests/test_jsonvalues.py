"""Plain JSON values from Python and NumPy values (``tascodec.jsonvalues``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tascodec.errors import TascodecError
from tascodec.jsonvalues import json_values


def test_numpy_values_become_plain_json():
    value = {"n": np.int64(3), "x": np.float32(0.5), "ok": np.bool_(True), "none": None,
             "rows": np.arange(4).reshape(2, 2), "pair": (1, "a"), "nested": {"f": [1.5]}}
    out = json_values(value)
    assert out == {"n": 3, "x": 0.5, "ok": True, "none": None, "rows": [[0, 1], [2, 3]],
                   "pair": [1, "a"], "nested": {"f": [1.5]}}
    assert type(out["n"]) is int and type(out["x"]) is float and type(out["ok"]) is bool
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_non_finite_floats_become_null():
    assert json_values([float("nan"), np.float64("inf"), -np.inf, 1.0]) == [None, None, None, 1.0]


def test_what_json_cannot_hold_is_named_with_its_key_path():
    with pytest.raises(TascodecError, match=r"stats\.inner: key 1 is not a string"):
        json_values({"inner": {1: 2}}, "stats")
    with pytest.raises(TascodecError, match=r"config\.f: set is not JSON-serialisable"):
        json_values({"f": {1, 2}}, "config")
