"""Archives the format tests share: ``mlp`` (the golden ``mlp`` content written as today's
format) and ``multi`` (a raw archive whose codes span several chunks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from make_golden import build
from tascodec.content import ArchiveContent
from tascodec.format import write_archive


@pytest.fixture()
def mlp(tmp_path: Path) -> tuple[ArchiveContent, Path]:
    content, _ = build("mlp")
    return content, write_archive(content, tmp_path / "a.tasz")


@pytest.fixture()
def multi(tmp_path: Path):
    """A raw archive whose codes span several chunks (5 rows each)."""
    content, _ = build("raw")
    return content, write_archive(content, tmp_path / "r.tasz", codes_chunk_bytes=4 * 12 * 5)
