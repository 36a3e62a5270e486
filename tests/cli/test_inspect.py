"""``tascodec info`` and ``tascodec verify``."""

from __future__ import annotations

import json
import shutil

import pytest

from make_golden import GOLDEN_DIR, write_zip, zip_entries
from tascodec.cli import main


def test_info_human(capsys):
    assert main(["info", str(GOLDEN_DIR / "mlp.tasz")]) == 0
    out = capsys.readouterr().out
    for text in (
        "tascodec 1.0",
        "inversion",
        "classes         3: background, pour, stir",
        "videos          3",
        "train.split1 (2)",
        "codes ",
        "ratio",
        "reconstruction_mse",
        "decoder",
        "overhead",
    ):
        assert text in out, text


def test_info_json(capsys):
    assert main(["info", str(GOLDEN_DIR / "mlp-int8.tasz"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format_version"] == "1.0" and info["code_dtype"] == "int8"
    assert info["videos"] == 3 and info["classes"] == ["background", "pour", "stir"]
    s = info["sizes"]
    assert s["codes"] + s["tables"] + s["decoder"] + s["overhead"] == s["total"]
    assert info["original_basis"] == "stats.source_bytes_float32"
    # one vocabulary with eval --json: storage_bytes, original_bytes, ratio the factor
    assert info["storage_bytes"] == s["total"]
    assert info["ratio"] == pytest.approx(info["original_bytes"] / info["storage_bytes"])
    assert info["fidelity"] == {"reconstruction_mse": 0.125}


def test_info_explains_its_errors_and_keeps_the_codec_line_short(tmp_path, capsys):
    from tascodec.report.info import format_info

    info = {"path": "a.tasz", "format_version": "1.1", "library_version": "0.1.0",
            "codec": "inversion", "codec_config": {"k": "auto", "latent_dim": 16,
                                                   "invert_betas": [0.9, 0.999], "lr": 0.001},
            "decode_kind": "mlp", "classes": ["a"], "videos": 2, "splits": {}, "frames": 9,
            "segments": 2, "codes": 30, "code_dim": 16, "code_dtype": "int8",
            "feature_dim": 64, "decoder": None, "decoder_dtype": None,
            "groups": [{"group": g, "codes": n, "code_dim": d, "code_dtype": "int8",
                        "videos": 1, "codec": "inversion", "decoder": g, "classes": 1}
                       for g, n, d in ((0, 10, 16), (1, 20, 8))],
            "sizes": dict.fromkeys(["codes", "tables", "decoder", "overhead", "total"], 1),
            "original_bytes": 10, "original_basis": "x", "ratio": 10.0,
            "fidelity": {"relative_mse": 0.2, "reconstruction_mse": 0.02}}
    lines = format_info(info).splitlines()
    codec = next(line for line in lines if line.startswith("codec "))
    assert codec.split(None, 1)[1] == "inversion k=auto latent_dim=16"
    assert "30: 10 x 16 (int8) in group 0, 20 x 8 (int8) in group 1" in format_info(info)
    fidelity = [line for line in lines if "mse" in line]
    assert fidelity[0].startswith("relative_mse") and "variance over the split" in fidelity[0]
    assert "video's spread" in fidelity[0] and "feature units" in fidelity[1]


def test_info_random_codes(capsys):
    assert main(["info", str(GOLDEN_DIR / "tca-random.tasz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["code_dtype"] == "generated"


def test_verify_clean(capsys):
    assert main(["verify", str(GOLDEN_DIR / "raw.tasz"), "--no-progress"]) == 0
    assert "OK" in capsys.readouterr().out


def test_verify_reports_flipped_chunk(tmp_path, capsys):
    entries = zip_entries(GOLDEN_DIR / "raw.tasz")
    data = bytearray(entries["codes/c/0/0"])
    data[len(data) // 2] ^= 0x01
    bad = write_zip(tmp_path / "bad.tasz", {**entries, "codes/c/0/0": bytes(data)})
    assert main(["verify", str(bad), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "codes/c/0/0" in out and "crc32c" in out and "1 problem" in out


def test_unreadable_is_exit_2(tmp_path, capsys):
    junk = tmp_path / "junk.tasz"
    junk.write_bytes(b"nope")
    assert main(["verify", str(junk)]) == 2
    assert main(["info", str(tmp_path / "missing.tasz")]) == 2
    err = capsys.readouterr().err
    assert "junk.tasz" in err and "missing.tasz" in err


def test_copy_still_verifies(tmp_path):
    dst = tmp_path / "copy.tasz"
    shutil.copy(GOLDEN_DIR / "mlp-float16.tasz", dst)
    assert main(["verify", str(dst), "--no-progress"]) == 0


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_info_survives_non_finite_stats(tmp_path, capsys, value):
    entries = zip_entries(GOLDEN_DIR / "mlp.tasz")
    text = entries["zarr.json"].decode()
    text = text.replace('"reconstruction_mse":0.125', f'"reconstruction_mse":{value}')
    text = text.replace('"source_bytes_float32":', f'"source_bytes_float32":{value},"x":')
    assert value in text
    path = write_zip(tmp_path / "n.tasz", {**entries, "zarr.json": text.encode()})
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "stored videos as float32" in out and "reconstruction_mse" not in out
    assert main(["info", str(path), "--json"]) == 0
    json.loads(capsys.readouterr().out)


def test_info_shows_1_1_and_decoder_dtype(capsys):
    from make_golden import GOLDEN_DIR_1_1

    assert main(["info", str(GOLDEN_DIR_1_1 / "mlp-f16dec.tasz"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format_version"] == "1.1" and info["decoder_dtype"] == "float16"
    assert main(["info", str(GOLDEN_DIR_1_1 / "mlp-f16dec.tasz")]) == 0
    assert "tascodec 1.1" in capsys.readouterr().out
    assert main(["verify", str(GOLDEN_DIR_1_1 / "mlp-f16dec.tasz"), "--no-progress"]) == 0
