"""The error hierarchy: every error tascodec raises on bad input is a ``TascodecError``.

``TascodecError`` subclasses ``ValueError`` so callers that already catch ``ValueError`` keep
working; messages name the file, field or argument at fault.
"""

from __future__ import annotations

__all__ = [
    "TascodecError",
    "DatasetLayoutError",
    "FormatError",
    "UnsupportedVersionError",
    "UnknownCodecError",
    "IntegrityError",
    "DecodeBudgetError",
]


class TascodecError(ValueError):
    """Base class of every error tascodec raises on bad input or a bad archive."""


class DatasetLayoutError(TascodecError):
    """A dataset directory does not follow the standard layout (names the file and line)."""


class FormatError(TascodecError):
    """An archive is not a well-formed ``.tasz`` file (names the archive and the part)."""


class UnsupportedVersionError(FormatError):
    """An archive's format version is newer than this reader understands."""


class UnknownCodecError(TascodecError):
    """A codec id is not registered (in an argument or in an archive header)."""


class IntegrityError(FormatError):
    """A checksum does not match, or stored data contradict the archive's own tables."""


class DecodeBudgetError(TascodecError):
    """Decoding a video would need more memory than the decode limit allows (names the video,
    the bytes needed and the limit; ``tascodec.decode.budget``)."""
