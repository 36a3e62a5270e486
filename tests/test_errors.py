"""The error hierarchy (``tascodec.errors``): every error is a ``TascodecError`` (a
``ValueError``); a message names options as Python spells them, ``cli_message()`` as the
command line does."""

from __future__ import annotations

import pytest

import tascodec.errors as errors
from make_golden import GOLDEN_DIR_1_1
from tascodec.errors import OutputExistsError, TascodecError

GOLDEN = str(GOLDEN_DIR_1_1 / "repeat.tasz")


def test_every_error_is_a_tascodec_error_and_a_value_error():
    classes = [getattr(errors, name) for name in errors.__all__]
    assert all(issubclass(c, TascodecError) and issubclass(c, ValueError) for c in classes)
    assert issubclass(errors.MissingDependencyError, ImportError)
    assert issubclass(errors.UnsupportedVersionError, errors.FormatError)
    assert issubclass(errors.IntegrityError, errors.FormatError)
    exists = OutputExistsError("out/a.tasz")
    assert str(exists) == "out/a.tasz: already exists (pass overwrite=True to replace it)"
    assert exists.cli_message() == "out/a.tasz: already exists (pass --overwrite to replace it)"


@pytest.mark.parametrize("python, cli", [
    ("x.tasz: max_bytes=21816 cannot hold it: raise max_bytes to at least 22360",
     "x.tasz: --max-bytes 21816 cannot hold it: raise --max-bytes to at least 22360"),
    ("set it with limit= / decode_limit= or $TASCODEC_DECODE_LIMIT",
     "set it with --decode-limit or $TASCODEC_DECODE_LIMIT"),
    ("give target_ratio or max_bytes, not both", "give --target-ratio or --max-bytes, not both"),
    ("pass overwrite=True to replace it", "pass --overwrite to replace it"),
    ("/data/max_bytes/x.tasz: max_bytes.tasz is bad", "/data/max_bytes/x.tasz: max_bytes.tasz is bad"),
])
def test_cli_errors_name_flags(python, cli):
    assert TascodecError(python).cli_message() == cli


def test_python_errors_name_the_keyword(tiny_dataset, tmp_path):
    from tascodec import encode, synthesize
    from tascodec.loading.export import export_archive

    out = tmp_path / "a.tasz"
    out.write_bytes(b"mine")
    with pytest.raises(OutputExistsError) as exc:
        encode(tiny_dataset, out, codec="mean", device="cpu", progress=False)
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "mapping.txt").write_text("0 a\n")
    with pytest.raises(OutputExistsError) as exc2:
        synthesize(tmp_path / "ds", "tiny", videos=2, dim=4)
    with pytest.raises(OutputExistsError) as exc3:
        export_archive(GOLDEN, tmp_path / "ds", progress=False)
    for e in (exc.value, exc2.value, exc3.value):
        assert "overwrite=True" in str(e) and "--overwrite" not in str(e)
        assert "--overwrite" in e.cli_message()
    assert out.read_bytes() == b"mine"
