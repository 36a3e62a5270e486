"""The entry manifest of format 1.1: every entry bound to its path by a digest (hashlib only).

A 1.1 archive's root ``zarr.json`` holds, beside the header, the attribute
``tascodec_manifest`` = ``{"algorithm": "blake2b-128", "entries": {path: hex digest}}``: the
BLAKE2b digest (16 bytes, 32 lowercase hex characters) of the bytes of every other entry,
keyed by the entry's name. It is computed after every other entry is final and written last
into the root document. Because the digest is looked up by the name being read, an entry moved
to another name (two codes chunks swapped, ``decoder/b2`` <-> ``decoder/feature_offset``) no
longer matches: ``ZipReader.read`` raises ``IntegrityError``.

On open the reader checks (cheaply, no data read) that the manifest names exactly the entries
of the file besides ``zarr.json``; each entry is then checked when it is read (metadata and
tables at open, codes per video, decoder tensors once).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from ..errors import FormatError, IntegrityError

__all__ = [
    "MANIFEST_KEY",
    "ALGORITHM",
    "entry_digest",
    "build_manifest",
    "parse_manifest",
    "manifest_digest",
]

MANIFEST_KEY = "tascodec_manifest"  # attribute of the root group, beside "tascodec"
ALGORITHM = "blake2b-128"
_DIGEST_BYTES = 16
_HEX = set("0123456789abcdef")
ROOT = "zarr.json"


def entry_digest(data: bytes) -> str:
    """BLAKE2b-128 of an entry's bytes: 32 lowercase hex characters."""
    return hashlib.blake2b(data, digest_size=_DIGEST_BYTES).hexdigest()


def manifest_digest(root_json: bytes) -> str:
    """The identity of an archive: the digest of its root document (header + manifest)."""
    return entry_digest(root_json)


def build_manifest(entries: Iterable[tuple[str, bytes]]) -> dict[str, Any]:
    """The manifest of ``(name, bytes)`` pairs (every entry but the root ``zarr.json``)."""
    digests = {name: entry_digest(data) for name, data in entries if name != ROOT}
    return {"algorithm": ALGORITHM, "entries": dict(sorted(digests.items()))}


def parse_manifest(attrs: dict[str, Any], names: Iterable[str], where: str) -> dict[str, str]:
    """Validate the root attribute ``tascodec_manifest`` against the file's entry names.

    Returns ``{entry name: hex digest}``. A missing or malformed manifest is a
    ``FormatError``; an entry the manifest does not name, or a named entry the file lacks, is
    an ``IntegrityError``.
    """
    m = attrs.get(MANIFEST_KEY)
    if not isinstance(m, dict):
        raise FormatError(f"{where}: format 1.1 needs the root attribute {MANIFEST_KEY!r}")
    if m.get("algorithm") != ALGORITHM:
        raise FormatError(
            f"{where}: {MANIFEST_KEY}.algorithm {str(m.get('algorithm'))[:40]!r} is not "
            f"{ALGORITHM!r}"
        )
    entries = m.get("entries")
    if not isinstance(entries, dict) or not all(
        isinstance(v, str) and len(v) == 2 * _DIGEST_BYTES and not set(v) - _HEX
        for v in entries.values()
    ):
        raise FormatError(
            f"{where}: {MANIFEST_KEY}.entries must map entry names to "
            f"{2 * _DIGEST_BYTES} lowercase hex characters"
        )
    present = set(names) - {ROOT}
    listed = set(entries)
    if present != listed:
        extra, missing = sorted(present - listed), sorted(listed - present)
        raise IntegrityError(
            f"{where}: entries and manifest disagree: not in the manifest {extra[:5]}, "
            f"missing from the file {missing[:5]}"
        )
    return dict(entries)
