"""Rate control: what a byte budget buys, and how many codes each segment gets (NumPy only).

Shapes: S segments, l frames of a segment, T frames, D feature width, d code width, H decoder
hidden width, A classes, G candidate instance counts.

Three steps, each its own function, used by ``tascodec.encode(..., k="auto")``:

* ``latent_width(x_norm, labels)``: d from the data, the number of principal directions that
  hold ``WITHIN_CLASS_VARIANCE`` of the within-class variance of the normalised frames (what a
  code must describe once the action is given), rounded up to a multiple of 8, in [8, 256].
* ``operating_point(budget, ...)``: the decoder's hidden width H (the largest that keeps the
  decoder, a fixed cost, within ``DECODER_SHARE`` of the budget) and the number of codes N that
  fit beside it, the tables and the container's fixed overhead.
* ``allocate(costs, grid, lengths, total)``: K per segment, minimising a distortion proxy
  under ``sum K <= N``. The proxy (``segment_cost_table``) is the squared error of the best
  per-instance affine-in-time fit with K equal instances (the TCA decoder is linear in c inside
  an instance between ReLU breakpoints, so a steady segment gains nothing from a second code
  and a varied one keeps gaining). Each segment's error is weighted half per frame (frame
  accuracy counts frames) and half per segment (Edit and F1 count segments, whatever their
  length): ``w_n = 0.5 * mean_l / l_n + 0.5``. The minimisation is Lagrangian: every segment
  picks ``argmin w cost(K) + lam K`` and ``lam`` is bisected until the total fits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import TascodecError

__all__ = [
    "CODE_VALUE_BYTES",
    "OperatingPoint",
    "allocate",
    "decoder_params",
    "minimum_budget",
    "k_grid",
    "latent_width",
    "operating_point",
    "segment_cost_table",
    "segment_weights",
]

#: fraction of the within-class variance a code width must span
WITHIN_CLASS_VARIANCE = 0.8
#: frames used to estimate it (evenly spaced over the training frames)
WIDTH_SAMPLE_FRAMES = 20000
#: the decoder (a fixed cost) takes at most this share of the budget
DECODER_SHARE = 1 / 3
HIDDEN_CHOICES = (512, 384, 256, 192, 128, 96, 64, 48, 32)
MIN_HIDDEN = 64  # the decoder width a raised budget keeps
#: a budget holds at least this many codes per segment (the boundary frames of most segments
#: then get a code of their own)
MIN_CODES_PER_SEGMENT = 2
#: bytes of an archive besides codes, decoder and tables: zip entries, zarr metadata, header
FIXED_BYTES = 14 * 1024
#: table bytes per stored segment (action, length, instance count; compressed)
TABLE_BYTES_PER_SEGMENT = 3
CODE_VALUE_BYTES = {"float32": 4, "float16": 2, "int8": 1}
DECODER_VALUE_BYTES = {"float32": 4, "float16": 2}
_GRID = np.array([*range(1, 17), 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192,
                  224, 256], dtype=np.int64)


def k_grid() -> np.ndarray:
    """Candidate instance counts (G,): every K up to 16, then roughly geometric up to 256."""
    return _GRID.copy()


def latent_width(x_norm: np.ndarray, labels: np.ndarray) -> int:
    """d for frames ``x_norm`` (T, D) normalised and their labels (T,); see the module docstring."""
    x = np.asarray(x_norm, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] < 2:
        raise TascodecError(f"latent_width: need (T, D) frames and (T,) labels, got {x.shape}, "
                            f"{y.shape}")
    resid = x.copy()
    for a in np.unique(y):
        rows = y == a
        resid[rows] -= resid[rows].mean(0)
    eig = np.linalg.eigvalsh(resid.T @ resid)[::-1]
    total = eig.sum()
    if not total > 0:
        return 8
    dims = int(np.searchsorted(np.cumsum(eig) / total, WITHIN_CLASS_VARIANCE) + 1)
    d = 8 * -(-dims // 8)
    return int(min(256, max(8, d), max(8, x.shape[1] // 2)))


def decoder_params(feature_dim: int, num_classes: int, latent_dim: int, hidden_dim: int) -> int:
    """Stored values of a tca-mlp decoder: w1, b1, w2, b2 and the (D,) offset and scale."""
    return hidden_dim * (latent_dim + num_classes + 2) + feature_dim * (hidden_dim + 3)


@dataclass(frozen=True)
class OperatingPoint:
    """What a budget buys: decoder width, code count and storage types."""

    budget_bytes: int
    latent_dim: int
    hidden_dim: int
    num_codes: int
    code_dtype: str
    decoder_dtype: str
    budget_raised: bool = False  # the budget was below ``minimum_budget`` and was raised

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def operating_point(budget_bytes: int, *, feature_dim: int, num_classes: int, latent_dim: int,
                    num_segments: int, code_dtype: str = "int8",
                    decoder_dtype: str = "float16", hidden_dim: int | None = None,
                    strict: bool = True) -> OperatingPoint:
    """The decoder width and the number of codes that fit ``budget_bytes`` (an archive's size).

    A budget that cannot hold ``MIN_CODES_PER_SEGMENT`` codes per segment raises
    ``TascodecError`` when ``strict``; otherwise (a default ratio on a dataset too small for
    it, where the container's fixed overhead dominates) the budget is raised to the smallest
    that does, and ``budget_raised`` says so.
    """
    if not strict:
        need = minimum_budget(feature_dim=feature_dim, num_classes=num_classes,
                              latent_dim=latent_dim, num_segments=num_segments,
                              code_dtype=code_dtype, decoder_dtype=decoder_dtype)
        if budget_bytes < need:
            point = operating_point(need, feature_dim=feature_dim, num_classes=num_classes,
                                    latent_dim=latent_dim, num_segments=num_segments,
                                    code_dtype=code_dtype, decoder_dtype=decoder_dtype,
                                    hidden_dim=hidden_dim)
            return replace(point, budget_raised=True)
    if code_dtype not in CODE_VALUE_BYTES or decoder_dtype not in DECODER_VALUE_BYTES:
        raise TascodecError(f"operating_point: unknown code or decoder dtype {code_dtype!r}, "
                            f"{decoder_dtype!r}")
    dec_bytes = DECODER_VALUE_BYTES[decoder_dtype]
    if hidden_dim is None:
        cap = min(512, max(32, 2 * feature_dim))
        fits = [h for h in HIDDEN_CHOICES if h <= cap and dec_bytes * decoder_params(
            feature_dim, num_classes, latent_dim, h) <= DECODER_SHARE * budget_bytes]
        hidden_dim = fits[0] if fits else HIDDEN_CHOICES[-1]
    rest = (budget_bytes - FIXED_BYTES - TABLE_BYTES_PER_SEGMENT * num_segments
            - dec_bytes * decoder_params(feature_dim, num_classes, latent_dim, hidden_dim)
            - 4 * latent_dim)  # the int8 scales
    num_codes = int(rest // (latent_dim * CODE_VALUE_BYTES[code_dtype])) if rest > 0 else 0
    if num_codes < MIN_CODES_PER_SEGMENT * num_segments:
        raise TascodecError(
            f"a budget of {budget_bytes} bytes holds {num_codes} codes of width {latent_dim} "
            f"beside a decoder of width {hidden_dim}, fewer than {MIN_CODES_PER_SEGMENT} per "
            f"segment for the {num_segments} segments to store: raise max_bytes, lower "
            f"target_ratio or gamma (at least {minimum_budget(feature_dim=feature_dim, num_classes=num_classes, latent_dim=latent_dim, num_segments=num_segments, code_dtype=code_dtype, decoder_dtype=decoder_dtype)} bytes)")
    return OperatingPoint(int(budget_bytes), int(latent_dim), int(hidden_dim), num_codes,
                          code_dtype, decoder_dtype)


def minimum_budget(*, feature_dim: int, num_classes: int, latent_dim: int, num_segments: int,
                   code_dtype: str = "int8", decoder_dtype: str = "float16") -> int:
    """The smallest budget that holds ``MIN_CODES_PER_SEGMENT`` codes per segment beside a
    decoder of width ``MIN_HIDDEN`` (bytes)."""
    return int(FIXED_BYTES + TABLE_BYTES_PER_SEGMENT * num_segments + 4 * latent_dim
               + DECODER_VALUE_BYTES[decoder_dtype] * decoder_params(
                   feature_dim, num_classes, latent_dim, MIN_HIDDEN)
               + MIN_CODES_PER_SEGMENT * num_segments * latent_dim * CODE_VALUE_BYTES[code_dtype])


def _piece_sse(prefix: tuple[np.ndarray, np.ndarray, np.ndarray], bounds: np.ndarray) -> float:
    """Summed SSE of the best affine-in-time fit of each piece ``[bounds[i], bounds[i+1])``."""
    s_x, s_tx, s_xx = prefix
    lo, hi = bounds[:-1], bounds[1:]
    n = (hi - lo).astype(np.float64)
    sx, stx, sxx = s_x[hi] - s_x[lo], s_tx[hi] - s_tx[lo], s_xx[hi] - s_xx[lo]
    st = (hi * (hi - 1) - lo * (lo - 1)) / 2.0  # sums of t and t^2 over [lo, hi)
    stt = ((hi - 1) * hi * (2 * hi - 1) - (lo - 1) * lo * (2 * lo - 1)) / 6.0
    centred = sxx - np.einsum("pd,pd->p", sx, sx) / n
    stt_c = stt - st * st / n
    stx_c = stx - sx * (st / n)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(stt_c > 1e-9, np.einsum("pd,pd->p", stx_c, stx_c) / stt_c, 0.0)
    return float(np.maximum(centred - slope, 0.0).sum())


def segment_cost_table(x_norm: np.ndarray, lengths: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(S, G) float64 proxy errors of one video's segments; ``x_norm`` (T, D), ``lengths`` (S,).

    Entry (n, g): the summed squared error of the best affine-in-time fit of each of ``grid[g]``
    equal instances of segment n (0 once every frame has its own code).
    """
    x = np.asarray(x_norm, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if x.ndim != 2 or x.shape[0] != int(lengths.sum()):
        raise TascodecError(f"segment_cost_table: {x.shape} frames for {int(lengths.sum())} labels")
    out = np.zeros((lengths.size, grid.size))
    zero = np.zeros((1, x.shape[1]))
    start = 0
    for s, length in enumerate(lengths.tolist()):
        seg = x[start:start + length]
        start += length
        t = np.arange(length, dtype=np.float64)[:, None]
        prefix = (np.concatenate([zero, np.cumsum(seg, 0)]),
                  np.concatenate([zero, np.cumsum(t * seg, 0)]),
                  np.concatenate([[0.0], np.cumsum(np.einsum("td,td->t", seg, seg))]))
        for g, k in enumerate(grid.tolist()):
            if k >= length:
                break
            out[s, g] = _piece_sse(prefix, (np.arange(k + 1, dtype=np.int64) * length) // k)
    return out


def segment_weights(lengths: np.ndarray) -> np.ndarray:
    """(S,) weights of each segment's error: half per frame, half per segment."""
    length = np.asarray(lengths, dtype=np.float64)
    return 0.5 * length.mean() / length + 0.5


def _choice(costs: np.ndarray, grid: np.ndarray, lengths: np.ndarray, lam: float) -> np.ndarray:
    """K per segment minimising cost + lam K among grid values <= l (capped at l)."""
    penal = np.where(grid[None, :] <= np.maximum(lengths, 1)[:, None],
                     costs + lam * grid[None, :], np.inf)
    best = np.argmin(penal, axis=1)
    return np.minimum(grid[best], lengths)


def allocate(costs: np.ndarray, grid: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """K per segment (S,) int64, 1 <= K <= l, ``sum K <= max(total, S)``; ``costs`` (S, G) weighted.

    Segments longer than the grid's end are still capped at its last value.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if costs.shape != (lengths.size, grid.size):
        raise TascodecError(f"allocate: costs {costs.shape} for {lengths.size} segments and "
                            f"{grid.size} candidates")
    if lengths.size == 0:
        return np.zeros(0, np.int64)
    if int(_choice(costs, grid, lengths, 0.0).sum()) <= total:
        return _choice(costs, grid, lengths, 0.0).astype(np.int64)
    if total <= lengths.size:
        return np.ones(lengths.size, np.int64)
    lo, hi = 0.0, float(costs[:, 0].max()) + 1.0  # at hi every segment takes K = 1
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        if int(_choice(costs, grid, lengths, mid).sum()) > total:
            lo = mid
        else:
            hi = mid
    return _choice(costs, grid, lengths, hi).astype(np.int64)
