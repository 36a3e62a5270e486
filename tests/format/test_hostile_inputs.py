"""Hostile file objects and datasets (issue 28 items 8 and 10): the families of
``adversarial_inputs``, run small."""

from __future__ import annotations

import pytest

from adversarial import BAD
from adversarial_inputs import run_datasets, run_fileobjs


def test_hostile_file_objects_are_refused_never_foreign():
    detail: dict[str, str] = {}
    counts = run_fileobjs(detail=detail)
    assert counts["ok"] >= 12  # every golden through gzip, lzma and bz2 whole
    bad = {k: v for k, v in detail.items() if v in BAD}
    assert not bad, bad


def test_hostile_dataset_values_are_refused_naming_where(tiny_dataset, tmp_path):
    detail: dict[str, str] = {}
    counts = run_datasets(tiny_dataset, tmp_path, detail=detail)
    assert not any(counts[o] for o in BAD), detail
    assert detail["3e+38"] == detail["nan"] == "rejected/rejected"
    assert detail["1000000000000.0"] == "ok/ok"
