"""Format 2.0 (several decoder groups, issue 15): the golden decodes as written and a merge
rebuilds it byte for byte, the last 1.1 reader refuses it cleanly, a newer major is refused
(merging itself: ``tests/encoding/test_grow.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tascodec.errors import UnsupportedVersionError
from tascodec.format import open_archive
from tascodec.encoding.grow import merge

from merge_inputs import two_archives
from old_readers import old_tascodec, run_old

GOLDEN = Path(__file__).parents[1] / "data" / "v2"


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
