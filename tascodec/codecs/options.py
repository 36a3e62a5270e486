"""Which options of ``tascodec.encode`` each codec takes, and the one check refusing the others.

Every codec declares ``Codec.encode_options``: the codec-specific options of ``encode`` (the
names of ``CODEC_OPTIONS``) it takes, each with the values it takes (``None``: any the option
takes). ``check_codec_options`` refuses an option a codec does not take, or a value it does not
take, before any data is read, naming the option, the codec and what the codec takes. Options
left at their defaults are not "given": ``encode`` and the command line pass only what the
caller set. Messages spell options as Python keywords (``Spelling``) or, from the command
line, as flags (a subclass there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import TascodecError, UnknownCodecError
from . import _REGISTRY, _load_builtin, list_codecs
from .base import Codec

__all__ = ["CODEC_OPTIONS", "BUDGET_OPTIONS", "ENCODE_DEFAULTS", "Spelling", "codec_class",
           "codecs_taking", "taken_options", "given_options", "check_codec_options"]

#: the options of ``encode`` that a codec may or may not take (the others, ``split``,
#: ``gamma``, ``sampling``, ``seed``, ``device``, apply to every codec)
CODEC_OPTIONS = ("k", "recipe", "code_dtype", "target_ratio", "max_bytes")
#: the byte budget of ``k="auto"`` (rate control)
BUDGET_OPTIONS = ("target_ratio", "max_bytes")
#: their defaults in ``encode``: an option at its default is not "given"
ENCODE_DEFAULTS: dict[str, Any] = {"k": "auto", "recipe": "auto", "code_dtype": None,
                                   "target_ratio": None, "max_bytes": None}


class Spelling:
    """How a message writes an option: as a Python keyword (``k=3``, ``code_dtype='int8'``)."""

    def given(self, option: str, value: Any) -> str:
        """The option as the caller gave it."""
        return f"{option}={value!r}"

    def takes(self, option: str, values: tuple[Any, ...] | None) -> str:
        """The option with the values a codec takes (``None``: any)."""
        if values is None:
            return option
        if len(values) == 1:
            return self.given(option, values[0])
        return f"{option} in {tuple(values)!r}"


def codec_class(codec: str | Mapping[str, Any]) -> type[Codec]:
    """The registered class of a codec id or of a ``get_config()`` dict."""

    _load_builtin()
    codec_id = codec.get("id") if isinstance(codec, Mapping) else codec
    cls = _REGISTRY.get(str(codec_id))
    if cls is None:
        raise UnknownCodecError(f"unknown codec {codec_id!r}; known: {list_codecs()}")
    return cls


def codecs_taking(option: str) -> dict[str, tuple[Any, ...] | None]:
    """``{codec id: the values it takes}`` of the registered codecs that take ``option``."""

    return {c: codec_class(c).encode_options[option] for c in list_codecs()
            if option in codec_class(c).encode_options}


def taken_options(codec: str | Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """Those of ``options`` that ``codec`` takes with their value: for a caller that runs
    several codecs with shared settings (e.g. one ``recipe`` for the learned ones)."""
    takes = codec_class(codec).encode_options
    return {o: v for o, v in options.items()
            if o in takes and (takes[o] is None or any(_same(v, a) for a in takes[o]))}


def given_options(**values: Any) -> dict[str, Any]:
    """The options among ``values`` (names of ``CODEC_OPTIONS``) not at their default."""
    return {name: v for name, v in values.items() if not _same(v, ENCODE_DEFAULTS[name])}


def check_codec_options(codec: str | Mapping[str, Any], given: Mapping[str, Any],
                        spelling: Spelling | None = None) -> None:
    """Refuse (``TascodecError``) an option in ``given`` (name -> value, only those the caller
    set) that ``codec`` does not take, with that value, and a budget without ``k='auto'``."""

    spell = spelling or Spelling()
    cls = codec_class(codec)
    takes = cls.encode_options
    for option, value in given.items():
        if option not in CODEC_OPTIONS:
            continue
        allowed = takes.get(option, ())
        if option in takes and (allowed is None or any(_same(value, v) for v in allowed)):
            continue
        what = ", ".join(spell.takes(o, takes[o]) for o in CODEC_OPTIONS if o in takes)
        raise TascodecError(f"codec {cls.codec_id!r} does not take {spell.given(option, value)}"
                            f"; it takes {what or 'none of these options'}")
    budget = [o for o in BUDGET_OPTIONS if o in given]
    if budget and "k" in given and given["k"] != "auto":
        raise TascodecError(f"{spell.given(budget[0], given[budget[0]])} sets the size under "
                            f"{spell.given('k', 'auto')}; it does not go with "
                            f"{spell.given('k', given['k'])}")


def _same(value: Any, other: Any) -> bool:
    """``value == other``, but ``True`` is not ``1`` and ``None`` only ``None``."""
    if value is None or other is None or isinstance(value, bool) or isinstance(other, bool):
        return value is other
    try:
        return bool(value == other)
    except (TypeError, ValueError):  # e.g. an array: compares to no option value
        return False
