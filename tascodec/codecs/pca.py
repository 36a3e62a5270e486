"""``pca`` codec: each frame's coordinates along the training frames' top principal directions,
one code per ``stride`` frames inside each segment, interpolated linearly between codes (or
held), stored as quantised codes.

Shapes: T frames, D feature width, p components, S segments, N codes (instances).

The principal directions (D, p) come from the covariance of the training split's frames (whole
videos evenly spaced over the split, about ``FIT_FRAMES`` frames). Segment ``s`` of length ``l`` gets
``K = ceil(l / stride)`` instances (the segment table's even split, ``K <= l``).
``interpolation="video"`` (the default) stores decode kind ``content.MLP_LERP_VIDEO`` (format
2.3): a frame's code is interpolated between the codes of the video's consecutive instances,
across segment boundaries (one tridiagonal least-squares system per video), so no step in the
decoded features marks where a segment ends. ``interpolation="linear"`` stores decode kind
``content.MLP_LERP`` (format 2.2): the same inside each segment
(``segments.lerp_weights``), and the codes are the least-squares fit of the frames'
coordinates by that interpolation (per segment a tridiagonal system, solved by Jacobi
iterations over all segments at once). ``interpolation="hold"`` stores decode kind ``content.MLP``
(format 1.1): each instance's code is the mean of its frames' coordinates, held over them.
The basis is written as a ``tca-mlp`` decoder whose
hidden layer passes the code through (``w1 = [I_p, 0, 0]``, a bias ``B`` larger than any stored
|code|, so the ReLU never clips), ``w2`` is the basis and the float32 ``feature_offset`` holds
the mean less ``w2 B``: ``x = w2 (z + B) + mean - w2 B = mean + basis z``. Every reader of format
1.1 decodes it; the class one-hot and the coherence ``c`` have zero weights, so the decoded
frames carry no label.

Why it is a codec of its own (``benchmarks/RESULTS.md`` section 12): at equal bytes, MS-TCN
trained on these frames keeps more of the original's Edit and F1 on the six real folds than on
inverted TCA codes, and costs one covariance and one projection instead of training and
inversion. Rate control (``tascodec.rate.pca_point``) picks ``components`` and ``stride`` for a
byte budget: strides up to 8 for codes interpolated over the video, up to 2 for the others
(held codes put a step in the features every ``stride`` frames and codes interpolated inside
segments a step at every boundary, cues segmentation models learn and then miss in real
features; ``benchmarks/RESULTS.md`` section 13).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..content import KINDS, MLP, MLP_LERP, MLP_LERP_VIDEO, ArchiveContent, DecoderCheckpoint
from ..errors import TascodecError
from ..format.v1 import CODE_DTYPES
from ..format.v1_write import int8_scale, quantise
from ..segments import instance_lengths, lerp_weights
from . import register_codec
from .base import Codec, alloc_codes, build_table, check_frames, make_content, progress_bar
from .learned import BUDGET_PARAMS

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset.source import EncodeSource

__all__ = ["PcaCodec", "FIT_FRAMES", "pca_decoder", "principal_directions", "basis_of",
           "project", "fit_codes", "INTERPOLATIONS"]

#: training frames the covariance is estimated from (whole videos, evenly spaced over the split)
FIT_FRAMES = 200_000
#: the pass-through bias exceeds the largest stored |code| by this factor (float16 rounding)
_BIAS_MARGIN = 1.01
#: how codes become frames -> the decode kind that stores it
#: ``interpolation`` -> the decode kind it stores: ``"video"`` codes interpolated over the
#: video's whole timeline (2.3), ``"linear"`` inside each segment (2.2), ``"hold"`` held (1.1)
INTERPOLATIONS = {"video": MLP_LERP_VIDEO, "linear": MLP_LERP, "hold": MLP}
#: Jacobi iterations of the least-squares fit for interpolated codes: the system is
#: diagonally dominant (an interior row's off-diagonals sum to about half its diagonal), so
#: the error shrinks at least twofold per iteration
_FIT_ITERATIONS = 40


def principal_directions(source: "EncodeSource", components: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(mean (D,), basis (D, p), variances (D,), covariance (D, D))`` of the training
    videos' frames, float64, from whole videos taken evenly over the split until about
    ``FIT_FRAMES`` frames (only those are read); ``variances``: every principal variance,
    largest first (the spectrum rate control reads)."""
    videos = list(source.training_videos)
    frames = np.array([source.num_frames(v) for v in videos], dtype=np.int64)
    if frames.sum() > FIT_FRAMES:
        take = max(1, int(np.ceil(len(videos) * FIT_FRAMES / frames.sum())))
        videos = [videos[i] for i in np.unique(np.linspace(0, len(videos) - 1, take).round()
                                               .astype(int))]
    dim = source.feature_dim
    count, sums, gram = 0, np.zeros(dim), np.zeros((dim, dim))
    for video in progress_bar(source, "pca: covariance", videos):
        x = np.asarray(source.features(video), dtype=np.float64)
        count += x.shape[0]
        sums += x.sum(0)
        gram += x.T @ x
    if count < 2:
        raise TascodecError(f"pca codec: the training videos hold {count} frame(s); the "
                            f"principal directions need at least 2")
    mean = sums / count
    cov = (gram - count * np.outer(mean, mean)) / (count - 1)
    var, vec = np.linalg.eigh(cov)
    order = np.argsort(var)[::-1]
    var, vec = np.maximum(var[order], 0.0), vec[:, order]
    # One sign per direction (its largest entry positive): the basis does not depend on the
    # eigensolver's sign choice.
    vec *= np.where(vec[np.abs(vec).argmax(0), np.arange(dim)] < 0, -1.0, 1.0)
    return mean, vec[:, :components], var, cov


def pca_decoder(mean: np.ndarray, basis: np.ndarray, bound: np.ndarray, num_classes: int,
                dtype: str = "float32") -> DecoderCheckpoint:
    """The ``tca-mlp`` checkpoint that decodes codes ``z`` (p,) to ``mean + basis @ z``.

    ``bound`` (p,): the largest |z_j| a stored code holds; ``dtype``: how the writer stores
    ``w1, b1, w2, b2`` (the offset that cancels the bias is computed from the stored values,
    so a float16 decoder adds no error beyond its basis' rounding)."""
    dim, p = basis.shape
    cast = np.float16 if dtype == "float16" else np.float32
    w2 = basis.astype(cast).astype(np.float64)
    b1 = (np.asarray(bound, np.float64) * _BIAS_MARGIN + 1e-6).astype(cast).astype(np.float64)
    w1 = np.zeros((p, p + num_classes + 1), np.float32)
    w1[:, :p] = np.eye(p, dtype=np.float32)
    arch = {"name": "tca-mlp", "latent_dim": p, "num_classes": int(num_classes),
            "hidden_dim": p, "feature_dim": dim, "activation": "relu"}
    tensors = {"w1": w1, "b1": b1.astype(np.float32), "w2": w2.astype(np.float32),
               "b2": np.zeros(dim, np.float32),
               "feature_offset": (np.asarray(mean, np.float64) - w2 @ b1).astype(np.float32),
               "feature_scale": np.ones(dim, np.float32)}
    return DecoderCheckpoint(arch=arch, tensors=tensors)


def basis_of(decoder: DecoderCheckpoint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean (D,), basis (D, p), bound (p,))`` float64 of a decoder ``pca_decoder`` made:
    ``x = mean + basis @ z`` for codes with ``|z_j| <= bound_j`` (the pass-through bias)."""
    t = {k: np.asarray(v, np.float64) for k, v in decoder.tensors.items()}
    return t["feature_offset"] + t["w2"] @ t["b1"], t["w2"], t["b1"]


def project(decoder: DecoderCheckpoint, frames: np.ndarray, length: np.ndarray,
            k_eff: np.ndarray, interpolation: str = "hold") -> tuple[np.ndarray, int]:
    """Codes (N, p) float32 of one video's frames (T, D) for a stored ``pca`` decoder (fitted
    as the codec fits them, ``interpolation`` one of ``INTERPOLATIONS``), each within the
    decoder's bound, and how many values had to be brought within it (``tascodec.append`` of
    new videos to a pca group)."""
    mean, basis, bound = basis_of(decoder)
    codes = fit_codes((np.asarray(frames, np.float64) - mean) @ basis, length, k_eff,
                      interpolation)
    clipped = int((np.abs(codes) > bound).sum())
    return np.clip(codes, -bound, bound).astype(np.float32), clipped


class _AsStored:
    """The codes (N, p) as a reader will decode them (quantised as the writer stores them, one
    slice at a time: no second (N, p) array), and ``bound`` (p,), the largest |value|."""

    _ROWS = 1 << 16

    def __init__(self, codes: np.ndarray, code_dtype: str) -> None:
        self.codes, self.dtype, self.shape = codes, code_dtype, codes.shape
        amax = np.zeros(codes.shape[1], np.float32)
        for a in range(0, codes.shape[0], self._ROWS):
            np.maximum(amax, np.abs(codes[a:a + self._ROWS]).max(0), out=amax)
        self.scale = int8_scale(amax) if code_dtype == "int8" else None
        self.bound = amax if code_dtype != "float16" else np.abs(
            amax.astype(np.float16)).astype(np.float32)

    def __getitem__(self, rows: slice) -> np.ndarray:
        q, scale = quantise(np.asarray(self.codes[rows]), self.dtype, "pca codec", self.scale)
        return q.astype(np.float32) * scale if scale is not None else q.astype(np.float32)


def fit_codes(coef: np.ndarray, length: np.ndarray, k_eff: np.ndarray,
              interpolation: str) -> np.ndarray:
    """Codes (N, p) float64 for one video's coordinates ``coef`` (T, p) and segments
    (``length``, ``k_eff`` (S,)): instance means for ``"hold"``; for ``"linear"`` and
    ``"video"`` the least-squares codes whose interpolation (``segments.lerp_weights``,
    inside each segment or over the video) best fits ``coef``."""
    inst_len = instance_lengths(length, k_eff)
    starts = np.concatenate(([0], np.cumsum(inst_len)[:-1]))
    codes = np.add.reduceat(coef, starts, axis=0) / inst_len[:, None]
    if interpolation == "hold" or coef.shape[0] == 0:
        return codes
    left, right, w = lerp_weights(length, k_eff,
                                  KINDS[INTERPOLATIONS[interpolation]].across_segments)
    w = w.astype(np.float64)
    a = 1.0 - w
    n = codes.shape[0]
    # Normal equations G z = b, G tridiagonal: frame f adds a^2, w^2 to the diagonal at its
    # left and right codes and a w between them (right is left + 1, or left itself with w = 0)
    diag = np.bincount(left, a * a, n) + np.bincount(right, w * w, n)
    upper = np.bincount(left, a * w, n)  # G[k, k + 1]
    lower = np.concatenate(([0.0], upper[:-1]))  # G[k, k - 1]
    b = _sum_by(a[:, None] * coef, left, n) + _sum_by(w[:, None] * coef, right, n)
    for _ in range(_FIT_ITERATIONS):
        rest = b.copy()
        rest[1:] -= lower[1:, None] * codes[:-1]
        rest[:-1] -= upper[:-1, None] * codes[1:]
        codes = rest / diag[:, None]
    return codes


def _sum_by(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """(n, p): the rows of ``values`` (T, p) summed by ``index`` (T,), sorted (0 where none)."""
    starts = np.searchsorted(index, np.arange(n))
    ends = np.append(starts[1:], index.size)
    out = np.add.reduceat(values, np.minimum(starts, max(index.size - 1, 0)), axis=0)
    out[starts == ends] = 0.0
    return out


@register_codec
class PcaCodec(Codec):
    """Principal-component codes, ``stride`` frames per code inside each segment.

    ``components`` (p) and ``stride``: integers, or ``"auto"`` (rate control picks them under
    ``budget_bytes``, ``tascodec.rate.pca_point``); given both, no budget is needed.
    ``interpolation``: ``"video"`` (the default: codes interpolated between consecutive
    instances of the video, ``content.MLP_LERP_VIDEO``, format 2.3), ``"linear"`` (between
    instances of a segment, ``content.MLP_LERP``, format 2.2) or ``"hold"`` (each code held over its
    instance, ``content.MLP``);
    at stride 1 (a code per frame) the two are the same frames, stored as ``"hold"``.
    """

    codec_id = "pca"
    decode_kind = MLP
    encode_options = {"k": ("auto",), "code_dtype": CODE_DTYPES, "target_ratio": None,
                      "max_bytes": None}
    own_params = ("k", "components", "stride", "interpolation", *BUDGET_PARAMS)

    def __init__(self, *, components: int | str = "auto", stride: int | str = "auto",
                 interpolation: str = "video", k: str = "auto", **budget: Any) -> None:
        unknown = sorted(set(budget) - set(BUDGET_PARAMS))
        if unknown:
            raise TascodecError(f"codec 'pca' does not take {unknown}; it takes components, "
                                f"stride and a byte budget")
        for name, value in (("components", components), ("stride", stride)):
            if value != "auto" and (isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)) or value < 1):
                raise TascodecError(f"codec 'pca': {name} must be a positive integer or "
                                    f"'auto', got {value!r}")
        if interpolation not in INTERPOLATIONS:
            raise TascodecError(f"codec 'pca': interpolation must be one of "
                                f"{sorted(INTERPOLATIONS)}, got {interpolation!r}")
        if k != "auto":
            raise TascodecError(f"codec 'pca': codes per segment follow stride; k must stay "
                                f"'auto', got {k!r}")
        super().__init__(components=components, stride=stride, interpolation=interpolation,
                         **budget)

    def _operating_point(self, source: "EncodeSource", length: np.ndarray,
                         variances: np.ndarray) -> tuple[int, int, dict[str, Any]]:
        from ..rate import pca_point

        p, s = self.params["components"], self.params["stride"]
        if p != "auto" and s != "auto":
            return int(min(p, source.feature_dim)), int(s), {}
        if not self.params.get("budget_bytes"):
            raise TascodecError("codec 'pca': components='auto' or stride='auto' needs a byte "
                                "budget (target_ratio or max_bytes)")
        point = pca_point(
            int(self.params["budget_bytes"]), lengths=length, feature_dim=source.feature_dim,
            num_classes=len(source.class_names), variances=variances,
            code_dtype=self.params.get("code_dtype", "int8"),
            decoder_dtype=self.params.get("decoder_dtype", "float32"),
            components=None if p == "auto" else int(p), stride=None if s == "auto" else int(s),
            strict=bool(self.params.get("strict_budget", True)),
            interpolation=str(self.params["interpolation"]))
        return point.components, point.stride, point.as_dict()

    def encode(self, source: "EncodeSource") -> ArchiveContent:
        """Fit the directions, pick (p, stride), code every stored video; stats carry the
        decoded error as the reader will see it (codes quantised as the writer stores them)."""
        from ..segments import num_instances_for_stride
        from .learned import decoded_mse

        start = time.perf_counter()
        dim = source.feature_dim
        mean, basis, variances, covariance = principal_directions(source, dim)
        table = build_table(source, 1)
        p, stride, point = self._operating_point(source, table.seg_length, variances)
        # one code per frame leaves nothing to interpolate: held codes are the same frames,
        # in a 1.1 archive that every reader decodes
        interpolation = str(self.params["interpolation"]) if stride > 1 else "hold"
        kind = INTERPOLATIONS[interpolation]
        basis = basis[:, :p]
        table.seg_num_instances = num_instances_for_stride(table.seg_length, stride)
        codes = alloc_codes(table.num_codes, p)
        first_seg, first_code = table.video_first_segment, table.video_first_code
        for v, video in enumerate(progress_bar(source, "pca: codes")):
            x = np.asarray(source.features(video), dtype=np.float32)
            check_frames(x, video, int(table.video_num_frames[v]), dim)
            segs = slice(int(first_seg[v]), int(first_seg[v + 1]))
            coef = (x.astype(np.float64) - mean) @ basis
            codes[first_code[v]:first_code[v + 1]] = fit_codes(
                coef, table.seg_length[segs], table.seg_num_instances[segs], interpolation)
        decoded = _AsStored(codes, str(self.params.get("code_dtype", "float32")))
        decoder = pca_decoder(mean, basis, decoded.bound, len(source.class_names),
                              str(self.params.get("decoder_dtype", "float32")))
        t_codes = time.perf_counter()
        spread = np.sqrt(np.maximum(np.diag(covariance), 1e-24))
        mse, rel = decoded_mse(replace(source, channel_spread=spread), table, decoded, decoder,
                               kind=kind)
        kept = float(variances[:p].sum() / max(variances.sum(), 1e-300))
        stats = {"reconstruction_mse": mse, "relative_mse": rel,
                 "code_seconds": t_codes - start,
                 "mse_seconds": time.perf_counter() - t_codes,
                 "pca_variance_kept": kept, "operating_point": point,
                 "encode_seconds": time.perf_counter() - start}
        config = {"id": self.codec_id, "components": p, "stride": stride,
                  "interpolation": interpolation,
                  **{k: self.params[k] for k in ("code_dtype", "decoder_dtype")
                     if k in self.params}}
        return make_content(self, source, table, codes, code_dim=p, decoder=decoder,
                            config=config, stats=stats, decode_kind=kind)
