"""Codecs, registered by a stable name (the id stored in archives)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..errors import TascodecError, UnknownCodecError
from .base import Codec

__all__ = ["Codec", "register_codec", "get_codec", "list_codecs"]

_REGISTRY: dict[str, type[Codec]] = {}
_builtin_loaded = False


def register_codec(cls: type[Codec]) -> type[Codec]:
    """Class decorator: register a codec under ``cls.codec_id``."""
    existing = _REGISTRY.get(cls.codec_id)
    if existing is not None and existing is not cls:
        raise TascodecError(f"codec id {cls.codec_id!r} already registered by {existing.__name__}")
    _REGISTRY[cls.codec_id] = cls
    return cls


def _load_builtin() -> None:
    # Importing the modules registers them; kept lazy so that reading archives needs no torch.
    global _builtin_loaded
    if _builtin_loaded:
        return
    _builtin_loaded = True

    for module in _BUILTIN_MODULES:
        import_module(f"{__name__}.{module}")


# Each module defines and registers one codec class (see their docstrings).
_BUILTIN_MODULES = ["raw", "mean", "coreset", "encoded", "inversion", "tca_random",
                    "mean_inversion", "pca"]


def get_codec(codec: str | dict[str, Any], **params: Any) -> Codec:
    """A codec instance from its id (plus parameters) or from a ``get_config()`` dict."""
    _load_builtin()
    if isinstance(codec, dict):
        codec_id = codec.get("id")
        cls = _REGISTRY.get(str(codec_id))
        if cls is None:
            raise UnknownCodecError(f"unknown codec {codec_id!r}; known: {list_codecs()}")
        return cls.from_config({**codec, **params})
    cls = _REGISTRY.get(codec)
    if cls is None:
        raise UnknownCodecError(f"unknown codec {codec!r}; known: {list_codecs()}")
    return cls(**params)


def list_codecs() -> list[str]:
    """Ids of the registered codecs, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)
