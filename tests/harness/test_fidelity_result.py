"""The fidelity harness's result (``tascodec.harness.fidelity_result``): JSON round trips, the
original it is compared with, seeds combined and summarised, the markdown table."""

from __future__ import annotations

import dataclasses
import json

import pytest

from fidelity_results import result
from tascodec.errors import TascodecError
from tascodec.harness.fidelity_result import FidelityResult, with_original


def test_eval_result_round_trips_and_originals_must_match():
    a = with_original(result("a" * 32), result(None))
    back = FidelityResult.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back == a and back.kept == a.kept and a.to_dict()["kept"]["acc"] == pytest.approx(
        100 * 60.5 / 60.5)
    for change in ({"epochs": 10}, {"seeds": (0,)}, {"backbone": "asformer"},
                   {"convention": "mstcn"}, {"split": "split2"}):
        with pytest.raises(TascodecError, match=f"differs in {next(iter(change))}"):
            with_original(result("a" * 32), dataclasses.replace(result(None), **change))
    with pytest.raises(TascodecError, match="of an archive"):
        with_original(result("a" * 32), result("b" * 32))
