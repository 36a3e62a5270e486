"""Plain JSON values from Python and NumPy values: the one converter (headers, configs, stats)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import TascodecError

__all__ = ["json_values"]


def json_values(obj: Any, where: str = "value") -> Any:
    """A copy of ``obj`` made of plain JSON values.

    Dicts (string keys only), lists and tuples (-> lists), NumPy arrays (-> nested lists) and
    scalars (-> ``bool`` / ``int`` / ``float``); non-finite floats become ``None``. Anything
    else raises ``TascodecError`` naming ``where`` and the key path.
    """
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TascodecError(f"{where}: key {k!r} is not a string")
            out[k] = json_values(v, f"{where}.{k}")
        return out
    if isinstance(obj, (list, tuple)):
        return [json_values(v, where) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_values(obj.tolist(), where)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if obj is None or isinstance(obj, str):
        return obj
    raise TascodecError(f"{where}: {type(obj).__name__} is not JSON-serialisable")
