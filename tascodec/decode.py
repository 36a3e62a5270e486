"""Decoding codes into frames (NumPy only): the structured fast path and the plain reference.

Shapes: S segments, N codes (instances), d code width, A classes, H decoder hidden width,
D feature width, T frames.

Decoding rules (normative, see ``spec/``): segment ``s`` has action ``a``, length ``l`` and
``K_eff`` instances; instance ``k`` covers segment frames ``[floor(k l / K_eff),
floor((k + 1) l / K_eff))``; frame ``i`` of a segment has coherence ``c_i = i / (l - 1)`` (0
when ``l == 1``), computed in float64 and cast to float32. ``"repeat"`` repeats each code
(width D) over its instance's frames; ``"mlp"`` runs the ``tca-mlp`` decoder on
``u = [z, onehot(a), c]``: ``x = (w2 @ relu(w1 @ u + b1) + b2) * feature_scale + feature_offset``.

The fast path (``decode_segments``) uses the structure of one instance: the code and the
action are constant and ``c`` moves linearly, so the hidden pre-activation is
``base + c * w_c`` and, while the ReLU pattern ``m`` holds, the output is ``P + c Q`` with
``P = W2 (m * base) + b2`` and ``Q = W2 (m * w_c)``. ``P`` and ``Q`` of every instance come from
one GEMM whose rows are instances, not frames; a hidden unit that changes sign inside an
instance (at most once: the pre-activation is monotone in ``c``) adds a rank-1 correction to
the frames after it, so each instance is written by one small (L, 2 + F) x (2 + F, D) matmul;
instances of one or two frames are decoded directly, frame by frame.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from .content import DecoderCheckpoint
from .errors import TascodecError
from .segments import instance_lengths, segment_coherence

__all__ = [
    "PreparedDecoder",
    "prepare_decoder",
    "decode_segments",
    "decode_reference",
    "decode_video",
    "video_rows",
    "archive_decoder",
    "NUMPY_DEVICES",
]

#: ``device`` values that select the NumPy path of ``decode_video``; any other value (for
#: example ``"cuda"``, ``"cuda:1"``, ``"cpu-torch"`` or a ``torch.device``) goes to
#: ``tascodec.decode_torch`` (``"cpu-torch"`` means torch on the CPU).
NUMPY_DEVICES = (None, "cpu", "numpy")

_TENSORS = ("w1", "b1", "w2", "b2", "feature_offset", "feature_scale")


@dataclass(frozen=True)
class PreparedDecoder:
    """A ``tca-mlp`` decoder laid out for decoding, de-normalisation folded into the last layer.

    ``wz_t`` (d, H), ``wa_t`` (A, H) = ``w1[:, d:d+A].T + b1`` (one action per frame, so the bias
    rides on the action row), ``w_c`` (H,), ``w2_t`` (H, D) = ``(feature_scale[:, None] * w2).T``,
    ``b2`` (D,) = ``feature_scale * b2 + feature_offset``; all float32, C-contiguous.
    """

    wz_t: np.ndarray
    wa_t: np.ndarray
    w_c: np.ndarray
    w2_t: np.ndarray
    b2: np.ndarray

    @property
    def latent_dim(self) -> int:
        return int(self.wz_t.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.wa_t.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.w2_t.shape[1])


# id(checkpoint) -> (weak reference to it, prepared); entries leave with their checkpoint.
_PREPARED: dict[int, tuple[Any, PreparedDecoder]] = {}


def prepare_decoder(decoder: DecoderCheckpoint | PreparedDecoder) -> PreparedDecoder:
    """Validate a ``tca-mlp`` checkpoint and fold it for decoding (cached per checkpoint object)."""
    if isinstance(decoder, PreparedDecoder):
        return decoder
    if not isinstance(decoder, DecoderCheckpoint):
        raise TascodecError(
            f"decoder: expected a DecoderCheckpoint, got {type(decoder).__name__}"
        )
    key = id(decoder)
    hit = _PREPARED.get(key)
    if hit is not None and hit[0]() is decoder:
        return hit[1]
    prepared = _fold(decoder)
    ref = weakref.ref(decoder, lambda _r, key=key: _PREPARED.pop(key, None))
    _PREPARED[key] = (ref, prepared)
    return prepared


def _fold(decoder: DecoderCheckpoint) -> PreparedDecoder:
    arch = decoder.arch if isinstance(decoder.arch, dict) else {}
    name = arch.get("name")
    if name != "tca-mlp":
        raise TascodecError(f"decoder arch name: expected 'tca-mlp', got {name!r}")
    if arch.get("activation", "relu") != "relu":
        raise TascodecError(f"decoder arch activation: expected 'relu', got {arch['activation']!r}")
    missing = [k for k in _TENSORS if k not in decoder.tensors]
    if missing:
        raise TascodecError(f"decoder tensors: missing {missing}")
    t = {k: np.asarray(decoder.tensors[k]) for k in _TENSORS}
    for k, v in t.items():
        if not np.issubdtype(v.dtype, np.floating):
            raise TascodecError(f"decoder tensor {k}: expected floating point, got {v.dtype}")
    w1, w2 = t["w1"], t["w2"]
    if w1.ndim != 2 or w2.ndim != 2:
        raise TascodecError(f"decoder tensors w1 {w1.shape} and w2 {w2.shape} must be 2-D")
    hidden, width = w1.shape
    dim = w2.shape[0]
    d = int(arch.get("latent_dim", -1))
    a = int(arch.get("num_classes", -1))
    if d < 0 or a < 1 or d + a + 1 != width:
        raise TascodecError(
            f"decoder: w1 has {width} input columns, expected latent_dim + num_classes + 1 "
            f"= {d} + {a} + 1 (arch {arch})"
        )
    expect = {"b1": (hidden,), "w2": (dim, hidden), "b2": (dim,),
              "feature_offset": (dim,), "feature_scale": (dim,)}
    for k, shape in expect.items():
        if t[k].shape != shape:
            raise TascodecError(f"decoder tensor {k}: expected shape {shape}, got {t[k].shape}")
    for k in ("hidden_dim", "feature_dim"):
        want = hidden if k == "hidden_dim" else dim
        if k in arch and int(arch[k]) != want:
            raise TascodecError(f"decoder arch {k}={arch[k]} but the tensors say {want}")
    f64 = {k: v.astype(np.float64) for k, v in t.items()}
    scale = f64["feature_scale"]
    w2_t = (scale[:, None] * f64["w2"]).T
    b2 = scale * f64["b2"] + f64["feature_offset"]
    wa_t = f64["w1"][:, d : d + a].T + f64["b1"][None, :]

    def c32(x: np.ndarray) -> np.ndarray:
        out = np.ascontiguousarray(x, dtype=np.float32)
        out.setflags(write=False)
        return out

    return PreparedDecoder(
        wz_t=c32(t["w1"][:, :d].T), wa_t=c32(wa_t), w_c=c32(t["w1"][:, d + a]),
        w2_t=c32(w2_t), b2=c32(b2),
    )


def _check_table(
    kind: str, codes: np.ndarray, seg_action: Any, seg_length: Any, seg_num_instances: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if kind not in ("mlp", "repeat"):
        raise TascodecError(f"decode_kind: expected 'mlp' or 'repeat', got {kind!r}")
    action = np.asarray(seg_action, dtype=np.int64).reshape(-1)
    length = np.asarray(seg_length, dtype=np.int64).reshape(-1)
    k_eff = np.asarray(seg_num_instances, dtype=np.int64).reshape(-1)
    if not action.shape == length.shape == k_eff.shape:
        raise TascodecError(
            f"seg_action {action.shape}, seg_length {length.shape} and seg_num_instances "
            f"{k_eff.shape} must have the same shape (S,)"
        )
    if (length < 1).any():
        raise TascodecError("seg_length: every segment needs at least one frame")
    if (k_eff < 1).any() or (k_eff > length).any():
        raise TascodecError("seg_num_instances: must be in [1, seg_length] for every segment")
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] != int(k_eff.sum()):
        raise TascodecError(
            f"codes: expected shape ({int(k_eff.sum())}, code_dim) (one row per instance), "
            f"got {codes.shape}"
        )
    return np.ascontiguousarray(codes, dtype=np.float32), action, length, k_eff


def _instances(length: np.ndarray, k_eff: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per instance (N,): segment, length, first frame; per frame (T,): coherence c float32."""
    inst_len = instance_lengths(length, k_eff)
    start = np.concatenate(([0], np.cumsum(inst_len)[:-1])).astype(np.int64)
    return np.repeat(np.arange(length.size), k_eff), inst_len, start, segment_coherence(length)


def _check_decoder(prep: PreparedDecoder, codes: np.ndarray, action: np.ndarray) -> None:
    if codes.shape[1] != prep.latent_dim:
        raise TascodecError(
            f"codes: code_dim {codes.shape[1]} does not match the decoder's latent_dim "
            f"{prep.latent_dim}"
        )
    if action.size and (action.min() < 0 or action.max() >= prep.num_classes):
        raise TascodecError(
            f"seg_action: values must be in [0, {prep.num_classes}), got "
            f"[{action.min()}, {action.max()}]"
        )


def decode_segments(
    kind: str,
    codes: np.ndarray,
    seg_action: np.ndarray,
    seg_length: np.ndarray,
    seg_num_instances: np.ndarray,
    decoder: DecoderCheckpoint | PreparedDecoder | None,
) -> np.ndarray:
    """Decode one video's codes (N, code_dim) and segments (S,) into frames (T, D) float32."""
    codes, action, length, k_eff = _check_table(kind, codes, seg_action, seg_length,
                                                seg_num_instances)
    if kind == "repeat":
        return np.repeat(codes, instance_lengths(length, k_eff), axis=0)
    if decoder is None:
        raise TascodecError("decoder: decode_kind 'mlp' needs a decoder checkpoint, got None")
    prep = prepare_decoder(decoder)
    _check_decoder(prep, codes, action)
    seg, inst_len, start, c = _instances(length, k_eff)
    total = c.size
    out = np.empty((total, prep.feature_dim), dtype=np.float32)
    if total == 0:
        return out
    base = codes @ prep.wz_t
    base += prep.wa_t[action[seg]]  # (N, H): the first layer, once per instance
    w_c = prep.w_c

    direct = inst_len <= 2
    d_inst = np.flatnonzero(direct)
    d_len = inst_len[d_inst]
    d_frames = np.repeat(start[d_inst], d_len) + (
        np.arange(int(d_len.sum())) - np.repeat(np.cumsum(d_len) - d_len, d_len)
    )
    h_direct = base[np.repeat(d_inst, d_len)] + c[d_frames, None] * w_c
    np.maximum(h_direct, 0, out=h_direct)

    pq = np.flatnonzero(~direct)
    b_pq = base[pq]
    c_first = c[start[pq]]
    c_last = c[start[pq] + inst_len[pq] - 1]
    on_first = (b_pq + c_first[:, None] * w_c) > 0
    on_last = (b_pq + c_last[:, None] * w_c) > 0
    rows = np.concatenate(
        [np.where(on_first, b_pq, 0), np.where(on_first, w_c, 0), h_direct], axis=0
    )
    y = rows @ prep.w2_t  # (2 N_pq + T_direct, D): the only large GEMM
    n_pq = pq.size
    p, q = y[:n_pq], y[n_pq : 2 * n_pq]
    p += prep.b2
    if d_frames.size:
        out[d_frames] = y[2 * n_pq :] + prep.b2
    if n_pq:
        _write_instances(out, c, start[pq], inst_len[pq], b_pq, on_first, on_last, p, q,
                         prep)
    return out


def _flip_frames(
    b: np.ndarray, w: np.ndarray, on: np.ndarray, c: np.ndarray, s: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """First frame offset (in [1, n)) where each flipping unit's sign differs from ``on``.

    ``b`` base values, ``w`` their ``w_c``, ``s`` instance starts, ``n`` lengths (all (F,)).
    The sign test is the float32 expression used at the instance's ends, monotone in the
    frame, so a vectorised bisection finds the exact frame in log2(max n) steps.
    """
    lo, hi = np.ones_like(n), n - 1  # the answer lies in [lo, hi]; frame n - 1 has flipped
    while (lo < hi).any():
        mid = (lo + hi) // 2
        flipped = ((b + c[s + mid] * w) > 0) != on
        hi = np.where(flipped, mid, hi)
        lo = np.where(flipped, lo, mid + 1)
    return lo


def _write_instances(
    out: np.ndarray,
    c: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    base: np.ndarray,
    on_first: np.ndarray,
    on_last: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    prep: PreparedDecoder,
) -> None:
    """Write the frames of instances of >= 3 frames: ``P + c Q`` plus flip corrections.

    A unit ``j`` that flips at frame ``f`` of an instance adds ``s (base_j + c w_c[j]) W2[:, j]``
    to the frames from ``f`` on (``s = +1`` if it turns on, ``-1`` if off), so an instance's
    block is one small matmul ``[1, c, corrections] (L, 2 + F) @ [P; Q; W2 columns] (2 + F, D)``
    that writes the output rows once.
    """
    n = p.shape[0]
    r, j = np.nonzero(on_first != on_last)  # sorted by instance
    if r.size:
        f = _flip_frames(base[r, j], prep.w_c[j], on_first[r, j], c, start[r], length[r])
        sign = np.where(on_first[r, j], np.float32(-1), np.float32(1))
        b_s, w_s = base[r, j] * sign, prep.w_c[j] * sign
        bounds = np.searchsorted(r, np.arange(n + 1))
        buf = np.empty((2 + int(np.diff(bounds).max()), out.shape[1]), dtype=np.float32)
    else:
        bounds = np.zeros(n + 1, dtype=np.int64)
    pq = np.stack([p, q], axis=1)  # (n, 2, D)
    one_c = np.stack([np.ones_like(c), c], axis=1)  # (T, 2): rows [1, c]
    for i, (s, size, k0, k1) in enumerate(zip(start.tolist(), length.tolist(),
                                              bounds[:-1].tolist(), bounds[1:].tolist())):
        blk = out[s : s + size]
        if k0 == k1:
            np.matmul(one_c[s : s + size], pq[i], out=blk)
            continue
        a = np.empty((size, 2 + k1 - k0), dtype=np.float32)
        a[:, :2] = one_c[s : s + size]
        corr = a[:, 2:]
        np.multiply(c[s : s + size, None], w_s[k0:k1], out=corr)
        corr += b_s[k0:k1]
        corr[np.arange(size)[:, None] < f[k0:k1]] = 0
        rows = buf[: 2 + k1 - k0]
        rows[:2] = pq[i]
        np.take(prep.w2_t, j[k0:k1], axis=0, out=rows[2:])
        np.matmul(a, rows, out=blk)


def decode_reference(
    kind: str,
    codes: np.ndarray,
    seg_action: np.ndarray,
    seg_length: np.ndarray,
    seg_num_instances: np.ndarray,
    decoder: DecoderCheckpoint | None,
) -> np.ndarray:
    """The plain per-frame forward pass (T, D) float32: the ground truth for tests and benchmarks.

    Inflates the codes to frames, builds ``u = [z, onehot(a), c]`` (T, d + A + 1) and runs the
    checkpoint as stored (no folding): two float32 matmuls.
    """
    codes, action, length, k_eff = _check_table(kind, codes, seg_action, seg_length,
                                                seg_num_instances)
    inst_len = instance_lengths(length, k_eff)
    z = np.repeat(codes, inst_len, axis=0)
    if kind == "repeat":
        return z
    if decoder is None:
        raise TascodecError("decoder: decode_kind 'mlp' needs a decoder checkpoint, got None")
    prep = prepare_decoder(decoder)  # validates
    _check_decoder(prep, codes, action)
    t = {k: np.asarray(decoder.tensors[k], dtype=np.float32) for k in _TENSORS}
    c = segment_coherence(length)
    onehot = np.eye(prep.num_classes, dtype=np.float32)[np.repeat(action, length)]
    u = np.concatenate([z, onehot, c[:, None]], axis=1)
    h = np.maximum(u @ t["w1"].T + t["b1"], 0)
    return ((h @ t["w2"].T + t["b2"]) * t["feature_scale"] + t["feature_offset"]).astype(
        np.float32, copy=False
    )


def video_rows(archive: Any, video: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(seg_action, seg_length, seg_num_instances)`` of one video from ``archive.table``."""
    table = archive.table
    index = _video_index(archive).get(video)
    if index is None:
        where = getattr(archive, "path", "archive")
        raise TascodecError(f"{where}: no video named {video!r} ({len(table.video_names)} stored)")
    sl = table.video_slice(index)
    return table.seg_action[sl], table.seg_length[sl], table.seg_num_instances[sl]


# id(archive) -> (weak reference, {"index": name -> row, "decoder": prepared or None})
_ARCHIVES: dict[int, tuple[Any, dict[str, Any]]] = {}


def _archive_cache(archive: Any) -> dict[str, Any]:
    key = id(archive)
    hit = _ARCHIVES.get(key)
    if hit is not None and hit[0]() is archive:
        return hit[1]
    entry: dict[str, Any] = {}
    try:
        ref = weakref.ref(archive, lambda _r, key=key: _ARCHIVES.pop(key, None))
    except TypeError:
        return entry  # not weak-referenceable: no caching
    _ARCHIVES[key] = (ref, entry)
    return entry


def _video_index(archive: Any) -> dict[str, int]:
    entry = _archive_cache(archive)
    if "index" not in entry:
        entry["index"] = {n: i for i, n in enumerate(archive.table.video_names)}
    return entry["index"]


def archive_decoder(archive: Any) -> PreparedDecoder | None:
    """The archive's prepared decoder, folded once per archive object (``None`` for repeat)."""
    entry = _archive_cache(archive)
    if "decoder" not in entry:
        ckpt = archive.decoder() if archive.decode_kind == "mlp" else None
        entry["decoder"] = prepare_decoder(ckpt) if ckpt is not None else None
    return entry["decoder"]


def decode_video(archive: Any, video: str, *, device: Any = None) -> np.ndarray:
    """Decode one stored video (T, D) float32 from an open archive.

    ``device`` ``None`` / ``"cpu"`` / ``"numpy"``: the NumPy fast path; anything else (``"cuda"``,
    ``"cuda:0"``, ``"cpu-torch"``, a ``torch.device``) runs ``tascodec.decode_torch`` there and
    copies the result back to host memory (use ``decode_torch.decode_video_torch`` to keep it on
    the device).
    """
    if device not in NUMPY_DEVICES:
        from .decode_torch import decode_video_torch

        return decode_video_torch(archive, video, device=device).cpu().numpy()
    action, length, k_eff = video_rows(archive, video)
    return decode_segments(archive.decode_kind, archive.codes(video), action, length, k_eff,
                           archive_decoder(archive))
