"""``tascodec ls``: the manifest of stored videos, from the segment table, without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from make_golden import GOLDEN_DIR
from tascodec.cli import main
from tascodec.format import open_archive


def test_ls_human(capsys):
    assert main(["ls", str(GOLDEN_DIR / "mlp.tasz")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "codes 8 wide, float32; feature dim 12" in lines[0]
    assert lines[1].split() == ["#", "video", "splits", "frames", "segments", "codes", "code",
                                "bytes"]
    # the index column: what decode and plot --video take
    assert lines[2].split() == ["0", "S1_Cheese_C1", "train.split1", "17", "2", "4", "128", "B"]
    assert lines[4].split() == ["2", "S3_Coffee_C1", "test.split1", "21", "4", "7", "224", "B"]
    assert lines[5].split() == ["3", "videos", "66", "9", "17", "544", "B"]


def test_ls_indices_survive_a_split_filter_and_help_is_plain(capsys):
    assert main(["ls", str(GOLDEN_DIR / "mlp.tasz"), "--split", "test", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert [v["index"] for v in m["videos"]] == [2] and m["videos"][0]["name"] == "S3_Coffee_C1"
    with pytest.raises(SystemExit):
        main(["ls", "--help"])
    assert "``" not in capsys.readouterr().out


@pytest.mark.parametrize("name", ["mlp", "mlp-int8", "mlp-float16", "raw", "repeat",
                                  "tca-random"])
def test_ls_json_matches_the_archive(name, capsys):
    path = GOLDEN_DIR / f"{name}.tasz"
    assert main(["ls", str(path), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    with open_archive(path) as ar:
        assert [v["name"] for v in m["videos"]] == ar.videos
        width = {"float32": 4, "float16": 2, "int8": 1, None: 0}[ar.code_dtype]
        assert m["code_dtype"] == (ar.code_dtype or "generated")
        for v in m["videos"]:
            assert v["frames"] == ar.num_frames(v["name"]) == len(ar.labels(v["name"]))
            assert v["segments"] == len(ar.segments(v["name"]).action)
            assert v["codes"] == ar.codes(v["name"]).shape[0]
            assert v["code_bytes"] == v["codes"] * ar.code_dim * width
            assert v["splits"] == sorted(k for k, vs in ar.splits.items() if v["name"] in vs)
        assert sum(v["codes"] for v in m["videos"]) == ar.num_codes
        assert sum(v["frames"] for v in m["videos"]) == int(np.sum(ar.table.video_num_frames))


def test_ls_split(capsys):
    assert main(["ls", str(GOLDEN_DIR / "mlp.tasz"), "--split", "train", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["split"] == "train.split1"
    assert [v["name"] for v in m["videos"]] == ["S1_Cheese_C1", "S2_Tea_C1"]
    assert main(["ls", str(GOLDEN_DIR / "mlp.tasz"), "--split", "nope"]) == 2
    err = capsys.readouterr().err
    assert "tascodec ls: error:" in err and "'nope' not found" in err and "train.split1" in err


def test_ls_missing_and_unreadable(tmp_path, capsys):
    assert main(["ls", str(tmp_path / "missing.tasz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tascodec ls: error:") and "missing.tasz" in err
    assert "Traceback" not in err
    junk = tmp_path / "junk.tasz"
    junk.write_bytes(b"not a zip")
    assert main(["ls", str(junk), "--json"]) == 2
    assert "junk.tasz" in capsys.readouterr().err


def test_ls_does_not_import_torch():
    code = (
        "import sys\n"
        "from tascodec.cli import main\n"
        f"assert main(['ls', {str(GOLDEN_DIR / 'mlp.tasz')!r}, '--json']) == 0\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "False"
    assert json.loads(out.stdout)["videos"][0]["name"] == "S1_Cheese_C1"
