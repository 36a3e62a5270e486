"""The training frames of the TCA, gathered in one pass over the training videos.

Shapes: T frames of a video, D feature width, n frames kept for training, m held out.

One read of each training video gives everything training needs:

* the per-channel mean and std (D,) float64 over every frame (streamed, Chan et al.'s
  parallel update per video, in video order);
* the held-out frames (``holdout``, whole 16-frame blocks, at most ``MAX_HELDOUT_FRAMES``,
  evenly thinned) that early stopping scores;
* the training frames: every frame not held out when they fit in ``memory_budget`` bytes as
  float32, else a uniform random sample of as many as fit (the same fraction of every video),
  so that training costs the same at any dataset size and never streams the dataset per
  epoch (at Breakfast's 3.6M frames of D = 2048 one pass reads 28 GB).

Frames are normalised once the pass is over (the statistics are only known then), in place.
The arrays are on the CPU; ``train_tca`` moves them to its device. ``fitting_budget(device)``
is the ``memory_budget`` of "every frame where they fit" (the ``paper`` recipe's ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dataset.source import FrameSource
from ..errors import TascodecError
from ..runtime.devices import free_memory, resolve_device
from ..runtime.parallel import current
from ..segments import labels_to_segments, segment_coherence

__all__ = ["TrainingFrames", "fitting_budget", "gather_training_frames", "heldout_mask",
           "robust_scale", "video_frames", "FIT_FRACTION", "HOLDOUT_BLOCK", "MAX_HELDOUT_FRAMES",
           "RELATIVE_SCALE_FLOOR"]

HOLDOUT_BLOCK = 16  # frames per held-out block
MAX_HELDOUT_FRAMES = 65536
#: a channel's scale is at least this fraction of its root-mean-square magnitude
RELATIVE_SCALE_FLOOR = 1e-3
#: ``fitting_budget``: this fraction of the free memory (the rest: model, optimiser, batches)
FIT_FRACTION = 0.5


def fitting_budget(device: str | None) -> int:
    """``memory_budget`` bytes for "every training frame where they fit": ``FIT_FRACTION`` of
    the host's available memory (the gather pass holds the frames there), and on a CUDA
    device of its free memory too (training holds them there), whichever is smaller."""

    dev = resolve_device(device or "cpu")
    free = free_memory("cpu")
    if dev.type == "cuda":
        free = min(free, free_memory(dev))
    return int(free * FIT_FRACTION)


@dataclass
class TrainingFrames:
    """What one pass over the training videos gathered (CPU arrays).

    ``mean``/``std``/``scale`` (D,) float64 over all ``total`` frames; ``x`` (n, D) float32
    normalised training frames in video order with actions ``a`` (n,) int64 and coherence
    ``c`` (n,) float32; ``held`` the held-out ``(x (m, D), a (m,), c (m,))`` likewise, or
    None; ``available``: frames not held out (n < available when sampled).
    """

    mean: np.ndarray
    std: np.ndarray
    scale: np.ndarray
    total: int
    available: int
    x: np.ndarray
    a: np.ndarray
    c: np.ndarray
    held: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    #: ``(x (w, D) float64 normalised, y (w,))``: every ``step``-th frame of the videos
    #: (step = total // ``width_frames``), asked for by rate control (``tascodec.rate``)
    width: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def sampled(self) -> bool:
        return self.x.shape[0] < self.available


def video_frames(source: FrameSource, video: str, num_classes: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(x (T, D) float32 view, a (T,) int64, c (T,) float32)`` of one video."""
    x = source.features(video)
    y = np.asarray(source.labels(video))
    dim = int(source.feature_dim)
    if x.ndim != 2 or x.shape[1] != dim:
        raise TascodecError(f"video {video!r}: features must be (T, {dim}), got {x.shape}")
    if y.shape != (x.shape[0],):
        raise TascodecError(f"video {video!r}: {y.shape[0] if y.ndim else 0} labels for "
                            f"{x.shape[0]} frames")
    if y.size == 0:
        raise TascodecError(f"video {video!r}: no frames")
    if y.min() < 0 or y.max() >= num_classes:
        raise TascodecError(f"video {video!r}: label out of range [0, {num_classes})")
    seg = labels_to_segments(y)
    return x, y.astype(np.int64), segment_coherence(seg.length)


def robust_scale(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Per-channel normalisation scale (D,): the std, floored relative to the channel's size.

    Raw channels (kinematics, sensor readings) can differ in scale by orders of magnitude, which
    per-channel standardisation absorbs; what it cannot absorb is a (nearly) constant channel,
    whose std is rounding noise: dividing by it would blow that noise up to unit variance.
    The floor ``RELATIVE_SCALE_FLOOR * sqrt(mean^2 + std^2)`` keeps such a channel near zero
    after normalisation, whatever its units.
    """
    rms = np.sqrt(np.square(mean) + np.square(std))
    return np.maximum(std, RELATIVE_SCALE_FLOOR * rms)


def heldout_mask(num_frames: int, video_index: int, fraction: float, seed: int) -> np.ndarray:
    """(T,) bool: the frames of one video held out for early stopping (whole 16-frame blocks)."""
    if fraction <= 0:
        return np.zeros(num_frames, dtype=bool)
    blocks = -(-num_frames // HOLDOUT_BLOCK)
    pick = np.random.default_rng([seed, video_index, 0x7ca]).random(blocks) < fraction
    return np.repeat(pick, HOLDOUT_BLOCK)[:num_frames]


class _Moments:
    """Per-channel mean and M2 (D,) float64, merged one video at a time."""

    def __init__(self, dim: int) -> None:
        self.count, self.mean, self.m2 = 0, np.zeros(dim), np.zeros(dim)

    @staticmethod
    def of(x: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """``(n, mean (D,), M2 (D,))`` of the frames ``x`` (n, D) float64."""
        n = x.shape[0]
        if n == 0:
            return 0, np.zeros(x.shape[1]), np.zeros(x.shape[1])
        vm = x.mean(0)
        return n, vm, ((x - vm) ** 2).sum(0)

    def add(self, x: np.ndarray) -> None:
        self.merge(*self.of(x))

    def merge(self, n: int, vm: np.ndarray, vm2: np.ndarray) -> None:
        """Chan et al.'s update with another part's count, mean and M2."""
        if n == 0:
            return
        delta, total = vm - self.mean, self.count + n
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + vm2 + delta**2 * (self.count * n / total)
        self.count = total

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.count, 1))


def _checked(x: np.ndarray, video: str, dim: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise TascodecError(f"video {video!r}: features must be (T, {dim}), got {x.shape}")
    if not np.isfinite(x).all():
        raise TascodecError(f"video {video!r}: features contain NaN or inf")
    return x


def feature_stats(source: FrameSource, videos: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-dimension mean and std (D,) float64 of all frames of ``videos`` (streamed), and T."""
    dim = int(source.feature_dim)
    moments = _Moments(dim)
    for video in videos:
        moments.add(_checked(source.features(video), video, dim))
    if moments.count == 0:
        raise TascodecError("training: the training videos hold no frames")
    return moments.mean, moments.std(), moments.count


def gather_training_frames(source: FrameSource, videos: list[str], num_classes: int, *,
                           holdout: float, seed: int, memory_budget: int,
                           width_frames: int | None = None) -> TrainingFrames:
    """Read each of ``videos`` once and return the normalised training and held-out frames.

    ``holdout``: fraction of frames held out (0: none); ``memory_budget``: bytes the float32
    training frames may take (more frames than fit are sampled uniformly, the same fraction of
    every video, each video's sample seeded by ``(seed, its index)``); ``width_frames``: also
    keep about that many evenly spaced frames (``TrainingFrames.width``).

    Several ranks (``tascodec.runtime.parallel``) each read a contiguous share of the videos: every row
    of the result has a place known from the videos' lengths alone, so each rank fills its own
    rows, the sums over ranks give the whole arrays (exactly), and the per-video moments merged
    in video order give the one-process statistics bit for bit.
    """

    world = current()
    dim = int(source.feature_dim)
    row = 4 * dim
    lengths = [int(source.num_frames(v)) for v in videos]
    masks = [heldout_mask(t, i, holdout, seed) for i, t in enumerate(lengths)]
    for mask in masks:
        if mask.all():  # a video shorter than one block stays in training
            mask[:] = False
    available = int(sum(int((~m).sum()) for m in masks))
    if available == 0:
        raise TascodecError("training: the training videos hold no frames")
    fraction = min(1.0, (memory_budget // row) / available)
    keep_counts = [_kept(int((~m).sum()), fraction) for m in masks]
    if sum(keep_counts) == 0:
        raise TascodecError(f"training: memory_budget={memory_budget} bytes holds no frame "
                            f"of {dim} float32 values")
    held_rows = _heldout_rows(masks)
    step = max(1, sum(lengths) // width_frames) if width_frames else 0
    starts = np.concatenate(([0], np.cumsum(lengths)))
    width_idx = [np.arange((-int(starts[i])) % step, t, step) if step else np.zeros(0, np.int64)
                 for i, t in enumerate(lengths)]
    out = _Rows(dim, keep_counts, [r.size for r in held_rows], [w.size for w in width_idx])
    first, stop = world.shard(lengths)
    moments = world.run_all("reading the training videos", lambda: [
        _read_video(source, videos[i], num_classes, dim, out, i, masks[i], held_rows[i],
                    width_idx[i], seed) for i in range(first, stop)])
    merged = _Moments(dim)
    for share in moments:
        for n, vm, vm2 in share:  # video order: ranks hold consecutive videos
            merged.merge(n, vm, vm2)
    for array in out.arrays():
        world.all_reduce_sum_(array, "the training frames")
    mean, std = merged.mean, merged.std()
    scale = robust_scale(mean, std)
    offset32, scale32 = mean.astype(np.float32), scale.astype(np.float32)
    # In place, the same float32 / float64 operations as out of place: a copy of the held-out
    # frames (up to MAX_HELDOUT_FRAMES rows, 512 MiB at D = 2048) would double them at peak.
    for frames in (out.x, out.hx):
        np.subtract(frames, offset32, out=frames)
        np.divide(frames, scale32, out=frames)
    held_out = (out.hx, out.ha, out.hc) if out.hx.shape[0] else None
    width = None
    if step:
        wx = out.wx.astype(np.float64)
        out.wx = None  # the float32 rows are not needed past this copy
        np.subtract(wx, mean, out=wx)
        np.divide(wx, scale, out=wx)
        width = (wx, out.wy)
    return TrainingFrames(mean=mean, std=std, scale=scale, total=merged.count,
                          available=available, x=out.x, a=out.a, c=out.c, held=held_out,
                          width=width)


class _Rows:
    """The gathered arrays, zero-filled, and where each video's rows go: training ``x``
    (n, D) float32, ``a``, ``c``; held-out ``hx`` (m, D) float32, ``ha``, ``hc``; the width
    sample ``wx`` (w, D) float32, ``wy``."""

    def __init__(self, dim: int, kept: list[int], held: list[int], width: list[int]) -> None:
        self.kept, self.held, self.width = (np.concatenate(([0], np.cumsum(n))).astype(np.int64)
                                            for n in (kept, held, width))
        n, m, w = int(self.kept[-1]), int(self.held[-1]), int(self.width[-1])
        self.x, self.a, self.c = (np.zeros((n, dim), np.float32), np.zeros(n, np.int64),
                                  np.zeros(n, np.float32))
        self.hx, self.ha, self.hc = (np.zeros((m, dim), np.float32), np.zeros(m, np.int64),
                                     np.zeros(m, np.float32))
        self.wx, self.wy = np.zeros((w, dim), np.float32), np.zeros(w, np.int64)

    def arrays(self) -> list[np.ndarray]:
        return [self.x, self.a, self.c, self.hx, self.ha, self.hc, self.wx, self.wy]


def _read_video(source: FrameSource, video: str, num_classes: int, dim: int, out: _Rows,
                i: int, mask: np.ndarray, held_rows: np.ndarray, width_idx: np.ndarray,
                seed: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Fill video ``i``'s rows of ``out``; returns its moments ``(n, mean (D,), M2 (D,))``."""
    x, y, c = video_frames(source, video, num_classes)
    xf = _checked(x, video, dim)
    idx = np.flatnonzero(~mask)
    k0, k1 = int(out.kept[i]), int(out.kept[i + 1])
    if k1 - k0 < idx.size:  # this video's own generator: the sample ignores the sharding
        rng = np.random.default_rng([seed, i, 0x5a3b1e])
        idx = np.sort(rng.choice(idx, size=k1 - k0, replace=False))
    out.x[k0:k1], out.a[k0:k1], out.c[k0:k1] = xf[idx], y[idx], c[idx]
    h0, h1 = int(out.held[i]), int(out.held[i + 1])
    out.hx[h0:h1], out.ha[h0:h1], out.hc[h0:h1] = xf[held_rows], y[held_rows], c[held_rows]
    w0, w1 = int(out.width[i]), int(out.width[i + 1])
    out.wx[w0:w1], out.wy[w0:w1] = x[width_idx], y[width_idx]
    return _Moments.of(xf)


def _kept(n: int, fraction: float) -> int:
    """Training frames kept of a video's ``n`` (rounded down: the sample never exceeds the
    budget)."""
    return n if fraction >= 1.0 else int(fraction * n)


def _heldout_rows(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Per video, the held-out frame indices scored: all of them, or, above
    ``MAX_HELDOUT_FRAMES`` in all, that many evenly spaced over the videos' held-out frames
    (so the check stays cheap, and small in memory, at any size)."""
    rows = [np.flatnonzero(m) for m in masks]
    total = sum(r.size for r in rows)
    if total <= MAX_HELDOUT_FRAMES:
        return rows
    pick = np.linspace(0, total - 1, MAX_HELDOUT_FRAMES).astype(np.int64)
    out, first = [], 0
    for r in rows:
        local = pick[(pick >= first) & (pick < first + r.size)] - first
        out.append(r[local])
        first += r.size
    return out
