"""The format version: the one place that parses and checks it.

A version is the string ``"MAJOR.MINOR"`` (two decimal integers, no sign, no leading zeros
beyond ``0``, nothing before or after: ``"1.0\n"`` is malformed). A reader of major version M reads every archive of major M whatever its minor
(fields it does not know are ignored) and refuses a newer major with
``UnsupportedVersionError``.
"""

from __future__ import annotations

import re
from typing import Any

from ..content import KIND_SINCE, KINDS
from ..errors import FormatError, UnsupportedVersionError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "WRITABLE_VERSIONS",
    "MANIFEST_SINCE",
    "GROUPS_SINCE",
    "KIND_SINCE",
    "version_for_kinds",
    "SUPPORTED_MAJORS",
    "parse_version",
    "check_version",
]

FORMAT_NAME = "tascodec"
FORMAT_VERSION = "1.1"  # what writers write by default
WRITABLE_VERSIONS = ("1.0", "1.1")  # what the single-decoder writer (``v1_write``) writes
#: the version of archives with several decoder groups (``v2``, ``v2_write``); writers write
#: the lowest version that can express the content (one group is still written as 1.1, a
#: group of a later kind raises the minor: ``version_for_kinds``, ``content.KINDS``)
GROUPS_SINCE = (2, 0)
#: the first version whose root holds an entry manifest (``manifest``) and whose decoder
#: tensors may be float16; every later minor of major 1 keeps both
MANIFEST_SINCE = (1, 1)  # 2.0 keeps both
SUPPORTED_MAJORS = (1, 2)
_VERSION = re.compile(r"(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})")  # fullmatch: no "1.0\n"


def parse_version(value: Any, *, where: str = "archive") -> tuple[int, int]:
    """``"1.0"`` -> ``(1, 0)``; anything malformed is a ``FormatError`` naming ``where``."""
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise FormatError(
            f"{where}: malformed format_version {str(value)[:40]!r} (want 'MAJOR.MINOR')"
        )
    major, minor = value.split(".")
    return int(major), int(minor)


def check_version(value: Any, *, where: str = "archive") -> tuple[int, int]:
    """Parse ``value`` and check that this library reads it; returns ``(major, minor)``."""
    major, minor = parse_version(value, where=where)
    newest = max(SUPPORTED_MAJORS)
    if major > newest:
        raise UnsupportedVersionError(
            f"{where}: format version {value} is newer than this reader understands "
            f"(major {newest}); upgrade tascodec to read it"
        )
    if major not in SUPPORTED_MAJORS:
        raise FormatError(f"{where}: format version {value} is not a released version")
    return major, minor


def version_for_kinds(kinds: Any) -> str:
    """The lowest grouped version (``"2.0"`` or later) that holds groups of ``kinds``: the
    newest ``since`` of their ``content.KINDS`` entries (a kind of 1.x or an unknown one:
    2.0)."""
    specs = [KINDS.get(k) for k in kinds]
    newest = max([GROUPS_SINCE, *(s.since for s in specs if s is not None and s.since)])
    return f"{newest[0]}.{newest[1]}"
