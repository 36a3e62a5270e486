"""Readers by format version: the version is parsed once (``version``), then its reader reads.

``read_layout(zr)`` checks that the file is a tascodec Zarr v3 group, parses and checks its
``format_version`` and hands the header to the reader of that major version. From 1.1 on it first checks the entry
manifest (``manifest``) against the file's entries and hands it to the ``ZipReader``, so every
later read of an entry checks its digest. A reader module
provides ``read_layout(zr, header, version) -> Layout``, ``read_decoder(zr, layout)``,
``array_metas(zr, layout)`` and ``PARTS`` (top-level entry -> size part); a future major
version is one new module added to ``READERS``.
"""

from __future__ import annotations

from types import ModuleType

from ..errors import FormatError
from . import v1, v2
from .arrays import MAX_JSON_BYTES, parse_json
from .manifest import manifest_digest, parse_manifest
from .container import ZipReader
from .archive_layout import Layout
from .version import FORMAT_NAME, MANIFEST_SINCE, check_version

__all__ = ["READERS", "read_layout", "reader_for"]

#: major format version -> its reader module
READERS: dict[int, ModuleType] = {1: v1, 2: v2}


def reader_for(layout: Layout) -> ModuleType:
    """The reader module of an opened archive's major version."""
    return READERS[layout.version[0]]


def read_layout(zr: ZipReader) -> Layout:
    """Read and validate an archive's header, tables and array metadata (no codes)."""
    where = str(zr.path)
    raw = zr.read("zarr.json", max_size=MAX_JSON_BYTES)
    root = parse_json(raw, f"{where}: zarr.json")
    if not isinstance(root, dict):
        raise FormatError(f"{where}: zarr.json: must hold a JSON object")
    attrs = root.get("attributes")
    if (
        root.get("zarr_format") != 3
        or root.get("node_type") != "group"
        or not isinstance(attrs, dict)
    ):
        raise FormatError(f"{where}: zarr.json is not a Zarr v3 group")
    h = attrs.get("tascodec")
    if not isinstance(h, dict) or h.get("format") != FORMAT_NAME:
        raise FormatError(f"{where}: not a tascodec archive (no header 'tascodec' with format)")
    version = check_version(h.get("format_version"), where=where)
    reader = READERS.get(version[0])
    if reader is None:  # pragma: no cover - check_version admits only majors with a reader
        raise FormatError(f"{where}: no reader for format version {h['format_version']}")
    manifest = None
    if version >= MANIFEST_SINCE:  # before any other entry is read: every read is checked
        manifest = parse_manifest(attrs, zr.names, where)
        zr.manifest = manifest
    layout = reader.read_layout(zr, h, version)
    layout.manifest = manifest
    layout.identity = manifest_digest(raw)
    return layout
