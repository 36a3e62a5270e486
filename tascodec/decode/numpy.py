"""Decoding codes into frames with NumPy: the structured fast path and the plain reference.

Shapes: S segments, N codes (instances), d code width, A classes, H decoder hidden width,
D feature width, T frames.

Instances and coherence follow ``decode.plan``. A kind without a decoder
(``content.REPEAT``) repeats each code (width D) over its instance's frames;
``content.MLP`` runs the ``tca-mlp`` decoder on
``u = [z, onehot(a), c]``: ``x = (w2 @ relu(w1 @ u + b1) + b2) * feature_scale + feature_offset``.

The fast path (``decode_segments``) uses the structure of one instance: the code and the
action are constant and ``c`` moves linearly, so the hidden pre-activation is
``base + c * w_c`` and, while the ReLU pattern ``m`` holds, the output is ``P + c Q`` with
``P = W2 (m * base) + b2`` and ``Q = W2 (m * w_c)``. ``P`` and ``Q`` of every instance come from
one GEMM whose rows are instances, not frames; a hidden unit that changes sign inside an
instance (at most once: the pre-activation is monotone in ``c``) adds a rank-1 correction to
the frames after it, so each instance is written by one small (L, 2 + F) x (2 + F, D) matmul;
instances of one or two frames are decoded directly, frame by frame. A decoder whose ``w_c``
is zero (the ``pca`` codec's) makes every instance constant: ``P`` repeated over its frames.

``content.MLP_LERP`` interpolates each frame's code between the instances around it
(``segments.lerp_weights``: ``z = z_l + w (z_r - z_l)``). The first layer is linear in the
code, so the hidden pre-activation is ``base_l + w (base_r - base_l) + c w_c`` (T, H), and the
frames are one GEMM per segment. (Interpolating the instances' outputs instead, where the
ReLU never clips, moves (T, D) arrays several times: slower than this product for the narrow
decoders of the ``pca`` codec, ``benchmarks/bench_decode_pca.py``.)
"""

from __future__ import annotations

import numpy as np

from ..content import KINDS, DecoderCheckpoint, decode_kind_spec
from ..segments import instance_lengths, lerp_weights, segment_coherence
from ..tca_mlp import TENSORS, PreparedDecoder
from .plan import add_offsets, check_codes, check_offsets, check_table, instances

__all__ = ["decode_segments", "decode_reference"]


def decode_segments(
    kind: str,
    codes: np.ndarray,
    seg_action: np.ndarray,
    seg_length: np.ndarray,
    seg_num_instances: np.ndarray,
    decoder: DecoderCheckpoint | PreparedDecoder | None,
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """Decode one video's codes (N, code_dim) and segments (S,) into frames (T, D) float32;
    ``offsets`` (S, D): the segments' offsets (``content.MLP_OFFSET`` only)."""
    codes, action, length, k_eff = check_table(kind, codes, seg_action, seg_length,
                                               seg_num_instances)
    spec = KINDS[kind]  # check_table knows the kind
    if not spec.uses_decoder:
        return np.repeat(codes, instance_lengths(length, k_eff), axis=0)
    prep = check_codes(decoder, codes, action)
    if spec.stores_offsets:
        offsets = check_offsets(kind, offsets, length.size, prep.feature_dim)
    if spec.across_segments:
        return _decode_lerp_video(codes, action, length, k_eff, prep)
    if spec.interpolates:
        return _decode_lerp(codes, action, length, k_eff, prep)
    out = _decode_mlp(codes, action, length, k_eff, prep)
    return add_offsets(out, offsets, length) if spec.stores_offsets else out


def _decode_lerp(codes: np.ndarray, action: np.ndarray, length: np.ndarray,
                 k_eff: np.ndarray, prep: PreparedDecoder) -> np.ndarray:
    """Interpolated codes (``content.MLP_LERP``, see the module docstring): (T, D) float32."""
    seg, _, _, c = instances(length, k_eff)
    if c.size == 0:
        return np.empty((0, prep.feature_dim), dtype=np.float32)
    left, right, w = lerp_weights(length, k_eff)
    base = _per_segment_matmul(codes, prep.wz_t, seg)
    base += prep.wa_t[action[seg]]  # (N, H)
    h, step = base[left], base[right]  # (T, H)
    step -= h
    step *= w[:, None]
    h += step
    if prep.w_c.any():
        h += c[:, None] * prep.w_c
    np.maximum(h, 0, out=h)
    out = _per_segment_matmul(h, prep.w2_t, seg[left])
    out += prep.b2
    return out


def _decode_lerp_video(codes: np.ndarray, action: np.ndarray, length: np.ndarray,
                       k_eff: np.ndarray, prep: PreparedDecoder) -> np.ndarray:
    """Codes interpolated over the video (``content.MLP_LERP_VIDEO``): (T, D) float32. The
    code's first-layer term is interpolated between instances, whatever their segments; the
    action and coherence terms are the frame's own. Both products run once per segment (the
    instances', then the frames'), so a segment's frames are the same bits decoded with the
    whole video or with the segments around it (the decode budget's groups)."""
    seg, _, _, c = instances(length, k_eff)
    if c.size == 0:
        return np.empty((0, prep.feature_dim), dtype=np.float32)
    left, right, w = lerp_weights(length, k_eff, across_segments=True)
    frame_seg = np.repeat(np.arange(length.size), length)
    base = _per_segment_matmul(codes, prep.wz_t, seg)  # (N, H): the code's term
    width = base.shape[1]
    # (T, H + 1): the hidden layer and a column of ones, so the second product adds b2 itself
    # (one pass over the (T, D) output instead of two)
    hidden = np.empty((c.size, width + 1), dtype=np.float32)
    h = hidden[:, :width]
    np.subtract(base[right], base[left], out=h)
    h *= w[:, None]
    h += base[left]
    h += prep.wa_t[action[frame_seg]]
    if prep.w_c.any():
        h += c[:, None] * prep.w_c
    np.maximum(h, 0, out=h)
    hidden[:, width] = 1.0
    return _per_segment_matmul(hidden, np.vstack([prep.w2_t, prep.b2]), frame_seg)


def _decode_mlp(codes: np.ndarray, action: np.ndarray, length: np.ndarray, k_eff: np.ndarray,
                prep: PreparedDecoder) -> np.ndarray:
    """The structured ``mlp`` decode (see the module docstring): (T, D) float32."""
    seg, inst_len, start, c = instances(length, k_eff)
    total = c.size
    out = np.empty((total, prep.feature_dim), dtype=np.float32)
    if total == 0:
        return out
    base = _per_segment_matmul(codes, prep.wz_t, seg)
    base += prep.wa_t[action[seg]]  # (N, H): the first layer, once per instance
    w_c = prep.w_c
    if not w_c.any():  # c has no weight (e.g. the pca codec's decoder): instances are constant
        p = _per_segment_matmul(np.maximum(base, 0, out=base), prep.w2_t, seg)
        p += prep.b2
        return np.repeat(p, inst_len, axis=0)

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
    row_seg = np.concatenate([seg[pq], seg[pq], seg[np.repeat(d_inst, d_len)]])
    y = _per_segment_matmul(rows, prep.w2_t, row_seg)  # (2 N_pq + T_direct, D)
    n_pq = pq.size
    p, q = y[:n_pq], y[n_pq : 2 * n_pq]
    p += prep.b2
    if d_frames.size:
        out[d_frames] = y[2 * n_pq :] + prep.b2
    if n_pq:
        _write_instances(out, c, start[pq], inst_len[pq], b_pq, on_first, on_last, p, q,
                         prep)
    return out


def _per_segment_matmul(a: np.ndarray, b: np.ndarray, row_seg: np.ndarray) -> np.ndarray:
    """``a @ b`` (R, K) x (K, D) with one GEMM per segment's rows (``row_seg`` (R,)).

    A BLAS kernel may round a row differently with the shape of the product it sits in (its
    place in the kernel's row blocks, the threads' split): one product per segment makes every
    frame a function of its own segment alone, so a video decodes to the same bits whole or in
    the decode budget's segment groups, whatever the CPU's kernel.
    """
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.float32)
    if a.shape[0] == 0:
        return out
    if (np.diff(row_seg) >= 0).all():  # rows already by segment: no gather, no scatter
        bounds = np.flatnonzero(np.diff(row_seg)) + 1
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), a.shape[0]]):
            np.matmul(a[lo:hi], b, out=out[lo:hi])
        return out
    order = np.argsort(row_seg, kind="stable")
    a_sorted = a[order]
    y_sorted = np.empty_like(out)
    bounds = np.flatnonzero(np.diff(row_seg[order])) + 1
    for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), a.shape[0]]):
        np.matmul(a_sorted[lo:hi], b, out=y_sorted[lo:hi])
    out[order] = y_sorted
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
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """The plain per-frame forward pass (T, D) float32: the ground truth for tests and benchmarks.

    Inflates the codes to frames, builds ``u = [z, onehot(a), c]`` (T, d + A + 1) and runs the
    checkpoint as stored (no folding): two float32 matmuls.
    """
    codes, action, length, k_eff = check_table(kind, codes, seg_action, seg_length,
                                               seg_num_instances)
    spec = decode_kind_spec(kind)
    inst_len = instance_lengths(length, k_eff)
    z = np.repeat(codes, inst_len, axis=0)
    if not spec.uses_decoder:
        return z
    if spec.interpolates:
        left, right, w = lerp_weights(length, k_eff, spec.across_segments)
        z = codes[left] + w[:, None] * (codes[right] - codes[left])
    prep = check_codes(decoder, codes, action)  # validates
    offsets = check_offsets(kind, offsets, length.size, prep.feature_dim)
    t = {k: np.asarray(decoder.tensors[k], dtype=np.float32) for k in TENSORS}
    c = segment_coherence(length)
    onehot = np.eye(prep.num_classes, dtype=np.float32)[np.repeat(action, length)]
    u = np.concatenate([z, onehot, c[:, None]], axis=1)
    h = np.maximum(u @ t["w1"].T + t["b1"], 0)
    out = ((h @ t["w2"].T + t["b2"]) * t["feature_scale"] + t["feature_offset"]).astype(
        np.float32, copy=False
    )
    return add_offsets(out, offsets, length)
