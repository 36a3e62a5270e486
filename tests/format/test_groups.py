"""Format 2.0 (several decoder groups), merge and append (issue 15 items 1 to 4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tascodec.errors import TascodecError, UnsupportedVersionError
from tascodec.format import open_archive, write_archive
from tascodec.encoding.grow import merge

from old_readers import old_tascodec, run_old
from testkit import kill_after, small_content, spawn

GOLDEN = Path(__file__).parents[1] / "data" / "v2"


def two_archives(tmp_path: Path) -> tuple[Path, Path]:
    """A (int8 codes) and B (float16 codes and decoder, other class list, other names)."""
    a, b = small_content(1, "mlp", 3), small_content(2, "mlp", 4)
    b.table.video_names = [f"b_{v}" for v in b.table.video_names]
    b.splits = {k: [f"b_{v}" for v in vs] for k, vs in b.splits.items()}
    b.class_names = ["pour", "open", "take", "zzz"][: len(b.class_names)]
    pa = write_archive(a, tmp_path / "a.tasz", code_dtype="int8")
    pb = write_archive(b, tmp_path / "b.tasz", code_dtype="float16", decoder_dtype="float16")
    return pa, pb


def test_merge_decodes_exactly_as_inputs(tmp_path):
    pa, pb = two_archives(tmp_path)
    out = merge([pa, pb], tmp_path / "m.tasz")
    with open_archive(out) as m, open_archive(pa) as A, open_archive(pb) as B:
        assert m.format_version == "2.0" and len(m.groups) == 2 and m.num_decoders == 2
        assert m.verify() == []
        assert m.class_names[: len(A.class_names)] == A.class_names
        assert set(m.class_names) == set(A.class_names) | set(B.class_names)
        for src, g in ((A, 0), (B, 1)):
            for v in src.videos:
                assert m.group_of(v) == g
                np.testing.assert_array_equal(m.decode(v), src.decode(v))
                np.testing.assert_array_equal(m.codes(v), src.codes(v))
                names = [m.class_names[i] for i in m.labels(v)]
                assert names == [src.class_names[i] for i in src.labels(v)]
        for k, vs in A.splits.items():
            assert set(vs) <= set(m.splits[k])
        with pytest.raises(TascodecError, match="pass group="):
            m.decoder()
    with pytest.raises(TascodecError, match="already exists"):
        merge([pa, pb], out)


def test_merge_refuses_name_clashes(tmp_path):
    pa, _ = two_archives(tmp_path)
    shutil.copy(pa, tmp_path / "a2.tasz")
    with pytest.raises(TascodecError, match="more than one input") as err:
        merge([pa, tmp_path / "a2.tasz"], tmp_path / "m.tasz")
    with open_archive(pa) as A:
        assert repr(A.videos[0]) in str(err.value)
    assert not (tmp_path / "m.tasz").exists()


def test_merged_archive_merges_again_and_single_group_stays_1_1(tmp_path):
    pa, pb = two_archives(tmp_path)
    m = merge([pa, pb], tmp_path / "m.tasz")
    again = merge([m], tmp_path / "copy.tasz")
    with open_archive(again) as c, open_archive(m) as ar:
        assert [g.as_dict() for g in c.groups] == [g.as_dict() for g in ar.groups]
        for v in ar.videos:
            np.testing.assert_array_equal(c.decode(v), ar.decode(v))
    single = merge([pa], tmp_path / "single.tasz")
    with open_archive(single) as s, open_archive(pa) as A:
        assert s.format_version == "1.1"  # the lowest version that expresses the content
        for v in A.videos:
            np.testing.assert_array_equal(s.codes(v), A.codes(v))


def test_golden_v2_decodes_and_rebuilds(tmp_path):
    golden = GOLDEN / "merged.tasz"
    want = np.load(GOLDEN / "merged.npz")
    with open_archive(golden) as ar:
        assert ar.format_version == "2.0" and len(ar.groups) == 2
        assert ar.groups[0].classes != ar.groups[1].classes
        for v in ar.videos:
            np.testing.assert_allclose(ar.decode(v), want[f"x/{v}"], rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(ar.labels(v), want[f"y/{v}"])
    pa, pb = two_archives(tmp_path)
    assert merge([pa, pb], tmp_path / "m.tasz").read_bytes() == golden.read_bytes()


def test_a_1_1_reader_refuses_2_0_cleanly(tmp_path):
    """The reader of the last 1.1-only commit refuses a 2.0 archive with
    UnsupportedVersionError (it never decodes it with the wrong decoder)."""
    old = old_tascodec("683cdac", tmp_path)
    code = ("import sys\nfrom tascodec.format import open_archive\n"
            "from tascodec.errors import UnsupportedVersionError\n"
            f"try:\n    open_archive({str(GOLDEN / 'merged.tasz')!r})\n"
            "except UnsupportedVersionError as e:\n    print('refused:', e); sys.exit(0)\n"
            "sys.exit(3)\n")
    run = run_old(old, code)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2.0" in run.stdout and "newer" in run.stdout


def test_newer_major_still_refused(tmp_path):
    from tascodec.format import check_version

    with pytest.raises(UnsupportedVersionError):
        check_version("3.0")


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_killed_merge_leaves_the_original_byte_identical(tmp_path, delay):
    pa, pb = two_archives(tmp_path)
    before = pa.read_bytes()
    code = (f"from tascodec.encoding.grow import merge\n"
            f"merge([{str(pa)!r}, {str(pb)!r}], {str(pa)!r}, overwrite=True)\n")
    kill_after(spawn(code), delay)
    after = pa.read_bytes()
    assert after == before or open_archive(pa).format_version == "2.0"
    with open_archive(pa) as ar:
        assert ar.verify() == []


def make_golden() -> None:  # pragma: no cover - run by hand
    """``PYTHONPATH=.:tests:tests/support python tests/format/test_groups.py``."""
    import tempfile

    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pa, pb = two_archives(Path(tmp))
        out = merge([pa, pb], GOLDEN / "merged.tasz", overwrite=True)
    from make_golden import save_decoded

    save_decoded(out, GOLDEN / "merged.npz")


if __name__ == "__main__":  # pragma: no cover
    make_golden()
