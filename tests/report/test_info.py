"""What ``tascodec info`` says about an archive (``tascodec.report.info``): the facts as
JSON-ready values, and their human-readable lines (the command: ``tests/cli/test_inspect.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from make_golden import GOLDEN_DIR, GOLDEN_DIR_1_1
from tascodec.format import open_archive
from tascodec.report.info import format_info, info_dict

V2 = Path(__file__).resolve().parents[1] / "data" / "v2" / "merged.tasz"


def facts(path: Path) -> dict:
    with open_archive(path) as ar:
        return info_dict(ar)


def test_the_facts_of_an_archive_are_plain_json():
    info = facts(GOLDEN_DIR_1_1 / "mlp.tasz")
    assert json.loads(json.dumps(info, allow_nan=False)) == info
    assert (info["format_version"], info["codec"], info["decode_kind"]) == ("1.1", "inversion",
                                                                           "mlp")
    assert info["classes"] == ["background", "pour", "stir"] and info["videos"] == 3
    assert info["splits"] == {"train.split1": 2, "test.split1": 1}
    assert (info["frames"], info["codes"], info["code_dim"], info["feature_dim"]) == (66, 17, 8,
                                                                                      12)
    assert info["storage_bytes"] == info["sizes"]["total"] == sum(
        info["sizes"][p] for p in ("codes", "tables", "decoder", "overhead"))
    assert info["ratio"] == pytest.approx(info["original_bytes"] / info["storage_bytes"])
    assert info["decoder"]["name"] == "tca-mlp" and info["decoder_dtype"] == "float32"
    assert info["fidelity"] == {"reconstruction_mse": 0.125}


def test_the_lines_people_read():
    lines = format_info(facts(GOLDEN_DIR_1_1 / "mlp.tasz")).splitlines()
    assert lines[1] == "format          tascodec 1.1 (written by tascodec 0.1.0)"
    assert "codec           inversion k=2 latent_dim=8" in lines
    assert "splits          train.split1 (2), test.split1 (1)" in lines
    assert "codes           17 x 8 (float32); feature dim 12" in lines
    assert lines[-1].startswith("reconstruction_mse 0.125 (mean squared error per value")
    old = format_info(facts(GOLDEN_DIR / "repeat.tasz"))
    assert "note: 1.0 has no entry manifest" in old and "\ndecoder " not in old
    merged = format_info(facts(V2))
    assert "group 0 " in merged and "group 1 " in merged


def test_many_classes_are_cut_short():
    info = facts(GOLDEN_DIR_1_1 / "mlp.tasz")
    info["classes"] = [f"c{i}" for i in range(20)]
    shown = ", ".join(f"c{i}" for i in range(12))
    assert f"classes         20: {shown}, ... (20 in all)" in format_info(info).splitlines()
