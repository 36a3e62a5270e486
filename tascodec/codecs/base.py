"""The codec base class: numcodecs-style configuration, CompressAI-style encode.

A codec turns the frames of a dataset's videos into an ``ArchiveContent`` (``encode``);
decoding is generic (``tascodec.decode``) and driven by the content's ``decode_kind``, so a
reader needs no codec class to decode, only the archive.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from ..content import DecodeKind
from ..errors import TascodecError

if TYPE_CHECKING:  # pragma: no cover
    from ..content import ArchiveContent
    from .source import EncodeSource

__all__ = ["Codec"]


class Codec(ABC):
    """Base class of every codec.

    Subclasses set ``codec_id`` (a stable name, stored in archives) and ``decode_kind``, take
    their parameters as keyword arguments, and implement ``encode``.
    """

    codec_id: ClassVar[str]
    decode_kind: ClassVar[DecodeKind]

    def __init__(self, **params: Any) -> None:
        self.params = dict(params)

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable configuration, ``{"id": codec_id, **params}``."""
        return {"id": self.codec_id, **self.params}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Codec":
        """Rebuild a codec from ``get_config()``'s output."""
        config = dict(config)
        codec_id = config.pop("id", cls.codec_id)
        if codec_id != cls.codec_id:
            raise TascodecError(f"config id {codec_id!r} does not match codec {cls.codec_id!r}")
        return cls(**config)

    @abstractmethod
    def encode(self, source: "EncodeSource") -> "ArchiveContent":
        """Condense ``source``'s videos into archive content."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"
