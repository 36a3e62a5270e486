"""The decode budget (NumPy only): what a decode will allocate, checked before allocating.

Shapes: T frames, S segments, N codes (instances) of one video, d code width, D feature width,
H decoder hidden width.

A few-KB archive can declare a video of 2^25 frames or a decoder 2^20 units wide: its tables
are honest, its decode is not affordable. Before reading codes, ``plan_decode`` estimates from
the tables and the header alone:

* ``output``: the (T, D) float32 result;
* ``codes``: the video's (N, d) float32 codes and what reading them holds at once
  (``Reading``): per code value, ``extra`` bytes besides its 4 (the stored value before it
  is converted: 1 for int8, 2 for float16, 0 for float32; the finiteness mask: 1), or, for
  generated codes (``tca-random``), ``64 * min(N d, rng.BLOCK)`` bytes of the generator's
  temporaries in all; for ``mlp+offset`` the video's (S, D) offsets likewise;
* ``reading``: ``4 x`` the largest decompressed chunk of the arrays read (the cached chunk,
  the chunk being decompressed, its stored bytes and their checksummed body), plus
  ``BASE`` bytes for the bookkeeping any decode holds (index arrays, entry records);
* ``decoder``: the decoder's float32 tensors, ``3 x`` for reading and folding;
* ``temporaries``: what decoding holds besides (``mlp``: per instance ``4 (6 H + 6 D) + 64``
  bytes for the first layer, ReLU patterns and the P/Q rows; per frame ``4 (3 H + 4 D) + 64``
  with NumPy (hidden activations of one- and two-frame instances, their products, the group's
  own output) and ``4 (7 H + 4 D) + 64`` with torch (its (T, H) activations, masks and
  corrections); ``mlp+lerp`` as ``mlp`` with ``4 H`` per frame for NumPy's ``3 H`` (the
  interpolated activations and the per-segment product's sorted copy); ``repeat``: ``64`` per
  instance). Measured NumPy peaks stay within the
  estimate (a factor 2 to 7 below it).

The estimate is held to what decodes do: ``tests/support/adversarial_budget.py`` decodes every
archive the standing suite builds under ``tracemalloc`` and requires each peak to stay at
most 1.5 times ``DecodePlan.total`` (spec ``tasz-v1.md`` section 8.4a states the same sum).

When everything fits under the limit the video decodes in one go. When the output, codes and
decoder fit but not the temporaries, the segments are split into consecutive groups whose
temporaries fit in what is left (segments decode independently: coherence and instances are
per segment). Otherwise ``DecodeBudgetError`` names the video and the figures.

The limit: an explicit ``limit`` (bytes, or a string such as ``"4GiB"``), else the environment
variable ``TASCODEC_DECODE_LIMIT``, else ``min(8 GiB, half the physical memory, half the
address-space limit)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..content import KINDS
from ..errors import DecodeBudgetError, TascodecError
from ..runtime.memory import half_of_memory
from ..units import format_bytes, parse_bytes

__all__ = [
    "ENV_VAR",
    "DEFAULT_CAP",
    "default_limit",
    "resolve_limit",
    "DecodePlan",
    "Reading",
    "plan_decode",
    "group_slices",
]

ENV_VAR = "TASCODEC_DECODE_LIMIT"
DEFAULT_CAP = 8 << 30
#: bytes any decode holds besides its arrays (index arrays of a few segments, entry records)
BASE = 8 << 10


def default_limit() -> int:
    """``min(8 GiB, half the physical memory, half the address-space limit)`` (each where
    known): a decode the default admits does not run into ``ulimit -v``."""
    half = half_of_memory()
    return DEFAULT_CAP if half is None else min(DEFAULT_CAP, half)


def _parse(value: Any, where: str) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        n = int(value)
    elif isinstance(value, str) and (parsed := parse_bytes(value)) is not None:
        n = parsed  # units.parse_bytes: every byte argument reads the same
    else:
        raise TascodecError(f"{where}: a decode limit must be bytes (e.g. 4294967296 or '4GiB'),"
                            f" got {str(value)[:40]!r}")
    if n < 1:
        raise TascodecError(f"{where}: a decode limit must be positive, got {value!r}")
    return n


def resolve_limit(limit: Any = None) -> int:
    """The decode limit in bytes: ``limit``, else ``$TASCODEC_DECODE_LIMIT``, else the default."""
    if limit is not None:
        return _parse(limit, "decode limit")
    env = os.environ.get(ENV_VAR)
    if env:
        return _parse(env, ENV_VAR)
    return default_limit()


@dataclass(frozen=True)
class DecodePlan:
    """What a decode of one video needs (bytes) and its segment groups ``[(s0, s1), ...]``."""

    output: int
    codes: int
    decoder: int
    temporaries: int
    limit: int
    groups: tuple[tuple[int, int], ...]
    reading: int = 0

    @property
    def total(self) -> int:
        return self.output + self.codes + self.decoder + self.temporaries + self.reading


@dataclass(frozen=True)
class Reading:
    """How an archive's codes are read (``format.groups.GroupSource.reading``): ``extra``
    bytes per code value held besides its float32 value (see the module docstring),
    ``generated`` codes (``tca-random``), ``offset_extra`` likewise per offset value
    (``mlp+offset``), ``chunk`` the largest decompressed chunk of the arrays read."""

    extra: int = 0
    generated: bool = False
    offset_extra: int = 0
    chunk: int = 0


def _codes_bytes(kind: str, N: int, d: int, S: int, D: int, reading: Reading | None) -> int:
    """The ``codes`` figure: float32 codes and what reading them (and offsets) holds."""
    if reading is None:  # an in-memory archive-like object: its codes only
        return 4 * N * d
    from ..rng import BLOCK

    out = (4 + reading.extra) * N * d
    if reading.generated:
        out += 64 * min(N * d, BLOCK)
    spec = KINDS.get(kind)
    if spec is not None and spec.stores_offsets:
        out += (4 + reading.offset_extra) * S * D
    return out


def _segment_temporaries(kind: str, length: np.ndarray, k_eff: np.ndarray, H: int,
                         D: int, backend: str = "numpy") -> np.ndarray:
    """Bytes of temporaries per segment (S,) (Python ints: no overflow for huge values)."""
    spec = KINDS.get(kind)
    if spec is None or not spec.uses_decoder:
        return k_eff.astype(object) * 64
    per_inst = 4 * (6 * H + 6 * D) + 64
    hidden = 7 if backend == "torch" else 4 if spec.interpolates else 3
    per_frame = 4 * (hidden * H + 4 * D) + 64
    out = k_eff.astype(object) * per_inst + length.astype(object) * per_frame
    if spec.stores_offsets:  # the segment's offset row and its (l, D) repeat
        out = out + 4 * D + length.astype(object) * (4 * D)
    return out


def plan_decode(kind: str, length: np.ndarray, k_eff: np.ndarray, *, code_dim: int,
                feature_dim: int, hidden_dim: int = 0, decoder_floats: int = 0,
                limit: Any = None, where: str = "archive", video: Any = "?",
                backend: str = "numpy", reading: Reading | None = None) -> DecodePlan:
    """Check one video's decode against the limit before anything is allocated.

    ``length``, ``k_eff`` (S,): the video's segment lengths and instances. Returns the plan
    (one group when everything fits at once); raises ``DecodeBudgetError`` naming ``video``
    and the figures when even the output, codes and decoder with the largest segment's
    temporaries exceed the limit. ``backend``: ``"numpy"`` or ``"torch"`` (temporaries differ).
    ``reading``: how the codes are read (``Reading``; ``None``: codes already in memory, the
    ``codes`` figure is ``4 N d`` and there is no ``reading`` figure).
    """
    lim = resolve_limit(limit)
    length = np.asarray(length, dtype=np.int64)
    k_eff = np.asarray(k_eff, dtype=np.int64)
    T, N = int(length.sum(dtype=object)), int(k_eff.sum(dtype=object))  # exact, no overflow
    output = 4 * T * int(feature_dim)
    codes = _codes_bytes(kind, N, int(code_dim), int(length.size), int(feature_dim), reading)
    read = 0 if reading is None else BASE + 4 * int(reading.chunk)
    decoder = 3 * 4 * int(decoder_floats)
    seg = _segment_temporaries(kind, length, k_eff, int(hidden_dim), int(feature_dim), backend)
    temps = int(sum(seg)) if seg.size else 0
    fixed = output + codes + decoder + read
    if fixed + temps <= lim:
        return DecodePlan(output, codes, decoder, temps, lim, ((0, int(length.size)),), read)
    spec = KINDS.get(kind)
    context = spec is not None and spec.across_segments  # a group decodes with its neighbours
    prefix = np.concatenate(([0], np.cumsum(seg))).astype(object)
    S = int(length.size)

    def cost(a: int, b: int) -> int:
        """Temporaries of decoding segments [a, b) (with a neighbour each side: ``context``)."""
        lo, hi = _decoded_span(a, b, S, context)
        return int(prefix[hi] - prefix[lo])

    largest = max((cost(s, s + 1) for s in range(S)), default=0)
    if fixed + largest > lim:
        raise DecodeBudgetError(
            f"{where}: decoding video {video!r} needs {format_bytes(fixed + largest, 1)} "
            f"({fixed + largest} bytes: output {T} x {feature_dim} float32 = {output}, codes "
            f"{codes}, reading {read}, decoder {decoder}, temporaries of its largest segment "
            f"{largest}; "
            f"all at once {fixed + temps}), over the decode limit of {format_bytes(lim, 1)} "
            f"({lim} bytes; set it with limit= / decode_limit= or ${ENV_VAR})"
        )
    room, groups, start = lim - fixed, [], 0
    for s in range(1, S):
        if cost(start, s + 1) > room:
            groups.append((start, s))
            start = s
    groups.append((start, S))
    return DecodePlan(output, codes, decoder, max(cost(a, b) for a, b in groups), lim,
                      tuple(groups), read)


def _decoded_span(a: int, b: int, num_segments: int, context: bool) -> tuple[int, int]:
    """The segments decoded to give segments [a, b): with ``context``, one more each side."""
    return (max(a - 1, 0), min(b + 1, num_segments)) if context else (a, b)


def group_slices(plan: DecodePlan, length: np.ndarray, k_eff: np.ndarray,
                 context: bool = False):
    """Per group of ``plan``: ``(segments, frames, code rows, kept)``: three slices of the
    video and the slice of the decoded part that is the group's frames. ``context``: the
    decode reads past the group's ends (codes interpolated over the video), so each group is
    decoded with the segment before and after it, and ``kept`` drops their frames."""
    frame = np.concatenate(([0], np.cumsum(length))).tolist()
    code = np.concatenate(([0], np.cumsum(k_eff))).tolist()
    out = []
    for a, b in plan.groups:
        lo, hi = _decoded_span(a, b, int(length.size), context)
        kept = slice(frame[a] - frame[lo], frame[b] - frame[lo])
        out.append((slice(lo, hi), slice(frame[a], frame[b]), slice(code[lo], code[hi]), kept))
    return out
