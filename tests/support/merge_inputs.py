"""Two archives that ``merge`` joins, for the golden ``tests/data/v2/merged.tasz`` and the merge
tests."""

from __future__ import annotations

from pathlib import Path

from tascodec.format import write_archive
from testkit import small_content


def two_archives(tmp_path: Path) -> tuple[Path, Path]:
    """A (int8 codes) and B (float16 codes and decoder, other class list, other names)."""
    a, b = small_content(1, "mlp", 3), small_content(2, "mlp", 4)
    b.table.video_names = [f"b_{v}" for v in b.table.video_names]
    b.splits = {k: [f"b_{v}" for v in vs] for k, vs in b.splits.items()}
    b.class_names = ["pour", "open", "take", "zzz"][: len(b.class_names)]
    pa = write_archive(a, tmp_path / "a.tasz", code_dtype="int8")
    pb = write_archive(b, tmp_path / "b.tasz", code_dtype="float16", decoder_dtype="float16")
    return pa, pb
