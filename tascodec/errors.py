"""The error hierarchy: every error tascodec raises on bad input is a ``TascodecError``.

``TascodecError`` subclasses ``ValueError`` so callers that already catch ``ValueError`` keep
working; messages name the file, field or argument at fault. A message that names an option
names it as Python spells it (``overwrite=True``); ``cli_message()`` is what the command line
prints instead (``--overwrite``).
"""

from __future__ import annotations

import re

__all__ = [
    "TascodecError",
    "DatasetLayoutError",
    "FormatError",
    "UnsupportedVersionError",
    "UnknownCodecError",
    "IntegrityError",
    "DecodeBudgetError",
    "BudgetTooSmallError",
    "OutputExistsError",
    "MissingDependencyError",
]


#: Python keywords that messages name -> the command-line flag of the same option
CLI_FLAGS = {"max_bytes": "--max-bytes", "target_ratio": "--target-ratio",
             "decode_limit": "--decode-limit", "code_dtype": "--code-dtype",
             "overwrite": "--overwrite"}
_KEYWORD = re.compile(r"(?<![\w./-])(limit= / decode_limit=|overwrite=True|"
                      + "|".join(CLI_FLAGS) + r")(?![\w/]|\.\w)(=?)")


def cli_spelling(message: str) -> str:
    """``message`` with the options it names spelled as flags: ``raise max_bytes`` ->
    ``raise --max-bytes``, ``max_bytes=2000`` -> ``--max-bytes 2000``, ``limit= /
    decode_limit=`` -> ``--decode-limit``."""

    def flag(m: re.Match[str]) -> str:
        if m[1].startswith("limit="):
            return "--decode-limit"
        name = CLI_FLAGS[m[1].removesuffix("=True")]
        return f"{name} " if m[2] else name

    return _KEYWORD.sub(flag, message)


class TascodecError(ValueError):
    """Base class of every error tascodec raises on bad input or a bad archive."""

    def cli_message(self) -> str:
        """The message in command-line terms: the options it names spelled as flags
        (``cli_spelling``)."""
        return cli_spelling(str(self))


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


class BudgetTooSmallError(TascodecError):
    """A byte budget (``max_bytes``, ``target_ratio``) cannot hold the archive or group;
    ``minimum_bytes`` is the smallest workable one, also named in the message."""

    def __init__(self, message: str, minimum_bytes: int) -> None:
        self.minimum_bytes = int(minimum_bytes)
        super().__init__(message)


class OutputExistsError(TascodecError):
    """An output file or directory exists and ``overwrite`` was not given; nothing was written.

    ``str()`` says ``pass overwrite=True``, ``cli_message()`` ``pass --overwrite``.
    """

    def __init__(self, path: object, detail: str = "already exists") -> None:
        self.path = path
        self.detail = detail
        super().__init__(self._message("overwrite=True"))

    def _message(self, option: str) -> str:
        return f"{self.path}: {self.detail} (pass {option} to replace it)"

    def cli_message(self) -> str:
        return self._message("--overwrite")


class MissingDependencyError(TascodecError, ImportError):
    """An optional dependency (a pip extra, see ``tascodec.extras``) is not installed; the
    message names the extra that installs it. Also an ``ImportError``."""
