"""The byte model: what a byte budget buys, and how many codes each segment gets (NumPy only).

Shapes: S segments, l frames of a segment, T frames, D feature width, d code width, H decoder
hidden width, A classes.

Three steps, each its own function, used by ``tascodec.encode(..., k="auto")``:

* ``latent_width(x_norm, labels)``: d from the data, the number of principal directions that
  hold ``WITHIN_CLASS_VARIANCE`` of the within-class variance of the normalised frames (what a
  code must describe once the action is given), rounded up to a multiple of 8, in [8, 256].
* ``operating_point(budget, ...)``: the decoder's hidden width H (the largest that keeps the
  decoder, a fixed cost, within ``DECODER_SHARE`` of the budget; below the narrowest choice's
  floor, ``FLOOR_HIDDEN`` before a strict budget is refused) and the number of codes N that
  fit beside it, the tables and the container's fixed overhead. When N exceeds the frames to
  store (every frame can have its own code), ``widen_to_budget`` spends the rest on wider codes,
  the one lever left for a lower error.
* ``allocate(lengths, total)``: K per segment under ``sum K <= N`` by water-filling on
  lengths: ``K_n = min(l_n, C)`` with the cap C as large as the budget allows (the segments at
  the cap, longest first, take what is left one code each). Short segments keep one code per
  frame, long ones share the rest evenly: the paper's ``K_eff = min(K, l)`` with K set by the
  budget instead of fixed. Measured on the four GTEA folds (``benchmarks/RESULTS.md``,
  section 8): codes spread in proportion to length (one per 8 frames, so short segments lose
  their own codes) kept 18 points less of Edit on fold 1; an allocation by a reconstruction-error proxy (best
  affine fit per instance, weighted per segment) reaches a lower MSE but the same Edit and F1 as
  water-filling, at the cost of another pass over the features, so the simpler rule stays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import BudgetTooSmallError, TascodecError
from ..segments import num_instances_for_stride

__all__ = [
    "CODE_VALUE_BYTES",
    "DECODER_VALUE_BYTES",
    "DECODER_SHARE",
    "FIXED_BYTES",
    "FLOOR_HIDDEN",
    "GROUPED_FIXED_BYTES",
    "HIDDEN_CHOICES",
    "MAX_LATENT",
    "MIN_CODES_PER_SEGMENT",
    "MIN_HIDDEN",
    "TABLE_BYTES_PER_SEGMENT",
    "WIDTH_SAMPLE_FRAMES",
    "WITHIN_CLASS_VARIANCE",
    "PCA_MAX_COMPONENTS",
    "pca_bytes",
    "OperatingPoint",
    "allocate",
    "decoder_params",
    "minimum_budget",
    "smallest_strict_budget",
    "widen_to_budget",
    "latent_width",
    "operating_point",
    "PcaPoint",
    "pca_point",
    "PCA_STRIDES",
    "PCA_VARIANCE",
    "PCA_MAX_STRIDE",
    "PCA_MAX_STRIDE_VIDEO",
    "pca_max_stride",
]

#: fraction of the within-class variance a code width must span
WITHIN_CLASS_VARIANCE = 0.8
#: the widest code: the paper's d at D = 2048
MAX_LATENT = 256
#: frames used to estimate it (evenly spaced over the training frames)
WIDTH_SAMPLE_FRAMES = 20000
#: the decoder (a fixed cost) takes at most this share of the budget
DECODER_SHARE = 1 / 3
HIDDEN_CHOICES = (512, 384, 256, 192, 128, 96, 64, 48, 32)
MIN_HIDDEN = 64  # the decoder width a raised budget keeps
#: the narrowest decoder, taken only where a strict budget cannot hold the minimum codes beside
#: the narrowest of ``HIDDEN_CHOICES``: a hard size limit is kept at a coarser decoder rather
#: than refused (small appended groups, e.g. one task's videos at ``mean``'s bytes)
FLOOR_HIDDEN = 16
#: a budget holds at least this many codes per segment (the boundary frames of most segments
#: then get a code of their own)
MIN_CODES_PER_SEGMENT = 2
#: bytes of an archive besides codes, decoder and tables: zip entries, zarr metadata, header
FIXED_BYTES = 14 * 1024
#: what a grouped (2.x) archive of one group stores besides a 1.1 one: the group and decoder
#: nodes, the longer entry names, the header's group and decoder records (measured: 0.95 KiB)
GROUPED_FIXED_BYTES = 1280
#: table bytes per stored segment (action, length, instance count; compressed)
TABLE_BYTES_PER_SEGMENT = 3
CODE_VALUE_BYTES = {"float32": 4, "float16": 2, "int8": 1}
DECODER_VALUE_BYTES = {"float32": 4, "float16": 2}
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
    return int(min(MAX_LATENT, max(8, d), max(8, x.shape[1] // 2)))


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
    fixed_hidden = hidden_dim
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
    dims = dict(feature_dim=feature_dim, num_classes=num_classes, latent_dim=latent_dim,
                num_segments=num_segments, code_dtype=code_dtype, decoder_dtype=decoder_dtype)
    hidden_dim, num_codes = _fit(budget_bytes, hidden_dim=hidden_dim, **dims)
    if num_codes < MIN_CODES_PER_SEGMENT * num_segments:
        least = smallest_strict_budget(hidden_dim=fixed_hidden, **dims)
        raise BudgetTooSmallError(
            f"a budget of {budget_bytes} bytes holds {num_codes} codes of width {latent_dim} "
            f"beside a decoder of width {hidden_dim}, fewer than {MIN_CODES_PER_SEGMENT} per "
            f"segment for the {num_segments} segments to store: raise max_bytes, lower "
            f"target_ratio or gamma (at least {least} bytes)", least)
    return OperatingPoint(int(budget_bytes), int(latent_dim), int(hidden_dim), num_codes,
                          code_dtype, decoder_dtype)


def widen_to_budget(point: OperatingPoint, *, num_frames: int, feature_dim: int,
                    num_classes: int, num_segments: int) -> OperatingPoint:
    """A budget that buys a code for every frame and more: wider codes, the one lever left.

    Returns the operating point of the widest d (a multiple of 8, at most
    ``min(MAX_LATENT, D // 2)``) whose codes still give every one of ``num_frames`` frames its
    own code; ``point`` itself when it holds fewer codes than frames.
    """
    if point.num_codes < num_frames:
        return point
    best, d = point, point.latent_dim + 8
    while d <= min(MAX_LATENT, feature_dim // 2):
        wider = operating_point(point.budget_bytes, feature_dim=feature_dim,
                                num_classes=num_classes, latent_dim=d,
                                num_segments=num_segments, code_dtype=point.code_dtype,
                                decoder_dtype=point.decoder_dtype, strict=False)
        if wider.num_codes < num_frames or wider.budget_raised:
            break
        best, d = wider, d + 8
    return best


def _fit(budget_bytes: int, *, feature_dim: int, num_classes: int, latent_dim: int,
         num_segments: int, code_dtype: str, decoder_dtype: str, hidden_dim: int | None
         ) -> tuple[int, int]:
    """``(H, number of codes)`` a budget buys: H the given one, else the widest of
    ``HIDDEN_CHOICES`` (at most ``min(512, max(32, 2 D))``) whose decoder takes at most
    ``DECODER_SHARE`` of the budget (none: the narrowest, or ``FLOOR_HIDDEN`` if that leaves
    fewer than ``MIN_CODES_PER_SEGMENT`` codes per segment); the codes fill what is left."""
    dec_bytes = DECODER_VALUE_BYTES[decoder_dtype]

    def codes_beside(h: int) -> int:
        rest = (budget_bytes - FIXED_BYTES - TABLE_BYTES_PER_SEGMENT * num_segments
                - dec_bytes * decoder_params(feature_dim, num_classes, latent_dim, h)
                - 4 * latent_dim)  # the int8 scales
        return int(rest // (latent_dim * CODE_VALUE_BYTES[code_dtype])) if rest > 0 else 0

    if hidden_dim is None:
        cap = min(512, max(32, 2 * feature_dim))
        fits = [h for h in HIDDEN_CHOICES if h <= cap and dec_bytes * decoder_params(
            feature_dim, num_classes, latent_dim, h) <= DECODER_SHARE * budget_bytes]
        hidden_dim = fits[0] if fits else HIDDEN_CHOICES[-1]
        if not fits and codes_beside(hidden_dim) < MIN_CODES_PER_SEGMENT * num_segments:
            hidden_dim = FLOOR_HIDDEN
    return int(hidden_dim), codes_beside(hidden_dim)


def smallest_strict_budget(*, feature_dim: int, num_classes: int, latent_dim: int,
                           num_segments: int, code_dtype: str = "int8",
                           decoder_dtype: str = "float16", hidden_dim: int | None = None) -> int:
    """The smallest budget a strict ``operating_point`` accepts (``MIN_CODES_PER_SEGMENT``
    codes per segment beside the decoder it picks there).

    The H a budget picks grows with the budget, so the smallest accepted budget is the floor
    of some H (its decoder plus the minimum codes): the least of those floors whose budget
    picks that H or a narrower one.
    """
    dims = dict(feature_dim=feature_dim, num_classes=num_classes, latent_dim=latent_dim,
                num_segments=num_segments, code_dtype=code_dtype, decoder_dtype=decoder_dtype)
    need = MIN_CODES_PER_SEGMENT * num_segments
    choices = (*HIDDEN_CHOICES, FLOOR_HIDDEN) if hidden_dim is None else (hidden_dim,)
    floors = sorted(int(FIXED_BYTES + TABLE_BYTES_PER_SEGMENT * num_segments + 4 * latent_dim
                        + DECODER_VALUE_BYTES[decoder_dtype] * decoder_params(
                            feature_dim, num_classes, latent_dim, h)
                        + need * latent_dim * CODE_VALUE_BYTES[code_dtype]) for h in choices)
    for budget in floors:
        if _fit(budget, hidden_dim=hidden_dim, **dims)[1] >= need:
            return budget
    return floors[-1]


def minimum_budget(*, feature_dim: int, num_classes: int, latent_dim: int, num_segments: int,
                   code_dtype: str = "int8", decoder_dtype: str = "float16") -> int:
    """The smallest budget that holds ``MIN_CODES_PER_SEGMENT`` codes per segment beside a
    decoder of width ``MIN_HIDDEN`` (bytes)."""
    return int(FIXED_BYTES + TABLE_BYTES_PER_SEGMENT * num_segments + 4 * latent_dim
               + DECODER_VALUE_BYTES[decoder_dtype] * decoder_params(
                   feature_dim, num_classes, latent_dim, MIN_HIDDEN)
               + MIN_CODES_PER_SEGMENT * num_segments * latent_dim * CODE_VALUE_BYTES[code_dtype])


def allocate(lengths: np.ndarray, total: int) -> np.ndarray:
    """K per segment (S,) int64: ``1 <= K_n <= l_n``, ``sum K = min(max(total, S), sum l)``.

    Water-filling: the largest cap C with ``sum min(l, C) <= total``; then the segments longer
    than C, longest first, take one more code each while codes are left.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.ndim != 1 or (lengths < 1).any():
        raise TascodecError("allocate: segment lengths must be a 1-D array of positive integers")
    if lengths.size == 0:
        return np.zeros(0, np.int64)
    total = int(min(max(total, lengths.size), lengths.sum()))
    lo, hi = 1, int(lengths.max())  # sum min(l, lo) <= total always holds (total >= S)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if int(np.minimum(lengths, mid).sum()) <= total:
            lo = mid
        else:
            hi = mid - 1
    k = np.minimum(lengths, lo)
    spare = total - int(k.sum())
    if spare > 0:
        longer = np.flatnonzero(lengths > lo)
        order = longer[np.argsort(-lengths[longer], kind="stable")][:spare]
        k[order] += 1
    return k


#: the strides (frames per code) the ``pca`` codec's rate control chooses from
PCA_STRIDES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
#: the share of the training frames' variance the components should hold before a budget
#: buys a shorter stride (``pca_point``)
PCA_VARIANCE = 0.85
#: the most components rate control gives the ``pca`` codec (past it, a budget buys stride)
PCA_MAX_COMPONENTS = 256
#: the longest stride rate control picks while it can hold one component there: a code held
#: over more frames puts a step in the features every ``stride`` frames, which segmentation
#: models read as boundaries (MS-TCN, 50 epochs, 50Salads split 2 at about 115x: stride 2 kept
#: 92% of Edit, stride 3 80%, stride 4 63%), and interpolated codes, which have no steps, lose
#: the within-segment detail just as much (stride 4 kept 68% of Edit there; stride 8 at 300x
#: 57%; ``benchmarks/RESULTS.md`` section 12)
PCA_MAX_STRIDE = 2
#: the same for codes interpolated over the video's whole timeline (``interpolation="video"``,
#: format 2.3): with no step at a segment's end the features no longer mark the boundaries,
#: and longer strides keep MS-TCN's segment metrics (``benchmarks/RESULTS.md`` section 13)
PCA_MAX_STRIDE_VIDEO = 8


def pca_max_stride(interpolation: str) -> int:
    """The longest stride rate control picks for ``interpolation`` while it can hold one
    component there (``PCA_MAX_STRIDE`` / ``PCA_MAX_STRIDE_VIDEO``)."""
    return PCA_MAX_STRIDE_VIDEO if interpolation == "video" else PCA_MAX_STRIDE


@dataclass(frozen=True)
class PcaPoint:
    """What a budget buys the ``pca`` codec: p components, one code per ``stride`` frames."""

    budget_bytes: int
    components: int
    stride: int
    num_codes: int
    code_dtype: str
    decoder_dtype: str
    budget_raised: bool = False

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def pca_bytes(components: int, num_codes: int, *, feature_dim: int, num_classes: int,
              num_segments: int, code_dtype: str, decoder_dtype: str,
              interpolation: str = "hold") -> int:
    """The byte model of a ``pca`` archive: container, tables, codes and their int8 scales,
    and the pass-through ``tca-mlp`` decoder (H = latent width = p); interpolated codes are a
    grouped (2.2 or 2.3) archive, ``GROUPED_FIXED_BYTES`` more."""
    grouped = GROUPED_FIXED_BYTES if interpolation in ("linear", "video") else 0
    return int(FIXED_BYTES + grouped + TABLE_BYTES_PER_SEGMENT * num_segments + 4 * components
               + CODE_VALUE_BYTES[code_dtype] * num_codes * components
               + DECODER_VALUE_BYTES[decoder_dtype] * decoder_params(
                   feature_dim, num_classes, components, components))


def pca_point(budget_bytes: int, *, lengths: np.ndarray, feature_dim: int, num_classes: int,
              variances: np.ndarray, code_dtype: str = "int8", decoder_dtype: str = "float16",
              components: int | None = None, stride: int | None = None, strict: bool = True,
              interpolation: str = "video") -> PcaPoint:
    """Components p and stride for the ``pca`` codec under ``budget_bytes``.

    ``lengths`` (S,): the stored segments; ``variances`` (D,): the principal variances,
    largest first; ``interpolation``: the codec's (interpolated codes are a grouped archive;
    codes interpolated over the video may take longer strides). The rule, among the strides
    of ``PCA_STRIDES`` up to ``pca_max_stride(interpolation)``:
    the shortest at which the budget buys the components holding ``PCA_VARIANCE`` of the
    variance, with as many components as it buys there (at most ``PCA_MAX_COMPONENTS`` and
    D); where none does, the one that buys the most components. Only a budget too small for
    one component at ``PCA_MAX_STRIDE`` takes a longer stride (the shortest that fits).
    Measured on the real folds (``benchmarks/RESULTS.md`` section 12): up to that stride
    components matter more than temporal detail; past it the steps between codes cost the
    segment metrics more than the components they buy. ``components`` or ``stride``
    given: only the other is chosen. A budget too small for one component at the longest
    stride raises ``BudgetTooSmallError`` when ``strict``, else it is raised to that floor.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    var = np.asarray(variances, dtype=np.float64)
    dims = dict(feature_dim=feature_dim, num_classes=num_classes, num_segments=lengths.size,
                code_dtype=code_dtype, decoder_dtype=decoder_dtype, interpolation=interpolation)
    cap = min(PCA_MAX_COMPONENTS, feature_dim)
    total = var.sum()
    wanted = (int(np.searchsorted(np.cumsum(var) / total, PCA_VARIANCE) + 1) if total > 0
              else 1)
    strides = PCA_STRIDES if stride is None else (int(stride),)
    options = []  # (stride, codes, the most components the budget buys there)
    for s in strides:
        n = int(num_instances_for_stride(lengths, s).sum())
        p = components if components is not None else _most_components(budget_bytes, n, cap,
                                                                        dims)
        options.append((s, n, p))
    fits = [o for o in options if o[2] >= 1 and pca_bytes(o[2], o[1], **dims) <= budget_bytes]
    if not fits:
        s, n, _ = options[-1]
        least = pca_bytes(components or 1, n, **dims)
        if strict:
            raise BudgetTooSmallError(
                f"a budget of {budget_bytes} bytes cannot hold a pca archive of "
                f"{components or 1} component(s), one code per {s} frames, for the "
                f"{lengths.size} segments to store: raise max_bytes or lower target_ratio "
                f"(at least {least} bytes)", least)
        return replace(pca_point(least, lengths=lengths, variances=var, components=components,
                                 stride=s, strict=True,
                                 **{k: v for k, v in dims.items() if k != "num_segments"}),
                       budget_bytes=int(budget_bytes), budget_raised=True)
    short = [o for o in fits if o[0] <= pca_max_stride(interpolation)]
    good = [o for o in short if o[2] >= min(wanted, cap)]
    s, n, p = (good[0] if good else max(short, key=lambda o: (o[2], -o[0])) if short
               else fits[0])
    return PcaPoint(int(budget_bytes), int(p), int(s), n, code_dtype, decoder_dtype)


def _most_components(budget_bytes: int, num_codes: int, cap: int, dims: dict) -> int:
    """The largest p <= cap whose archive fits the budget with ``num_codes`` codes (0: none)."""
    lo, hi = 0, cap
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pca_bytes(mid, num_codes, **dims) <= budget_bytes:
            lo = mid
        else:
            hi = mid - 1
    return lo
