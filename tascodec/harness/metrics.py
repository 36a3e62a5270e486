"""Segmentation metrics with the definitions of the MS-TCN / ASFormer evaluation code (``eval.py``).

* Acc: frame accuracy pooled over all frames of all videos (background frames included).
* Edit: ``(1 - Levenshtein(P, Y) / max(|P|, |Y|)) * 100`` per video between the predicted and
  ground-truth transcripts (background segments left out), averaged over videos.
* F1@tau: every predicted non-background segment is matched to the ground-truth segment of the
  same class with the highest IoU; it is a true positive if that IoU >= tau and that
  ground-truth segment has not been matched before, else a false positive. Unmatched
  ground-truth segments are false negatives. tp/fp/fn are summed over videos, then
  ``F1 = 2PR / (P + R) * 100`` (0 when there is no true positive).

Segment end conventions. The two reference ``eval.py`` files differ in one place, the end of
the video's last segment (``convention=``):

* ``"asformer"`` (the default): ends are *exclusive* (the index of the next segment's first
  frame) for every segment but the video's last, whose end is ``T - 1`` (the reference's loop
  variable after its loop, ``ends.append(i)``). This is ASFormer's ``eval.py`` (Yi et al.,
  BMVC 2021; ChinaYi/ASFormer), identical to MS-TCN's ``eval.py`` before its end-label fix;
  ASFormer's published figures were computed with it.
* ``"mstcn"``: every end exclusive, the last segment ending at ``T`` (``ends.append(i + 1)``),
  as in MS-TCN's current ``eval.py`` (yabufarha/ms-tcn).

IoU is ``(min(ends) - max(starts)) / (max(ends) - min(starts))`` in both; the conventions
differ only for pairs touching the last frame, which ``"asformer"`` shortens by one frame. A
one-frame last segment thus has zero extent there, and when both last segments are one frame
long the IoU is 0/0 = NaN, which the reference's ``argmax`` picks and never matches (a false
positive and a false negative): on a short video this costs tens of F1 points, which is why
``"mstcn"`` exists. The default is ``"asformer"`` so that figures stay comparable with those
already recorded (RESULTS.md) and with ASFormer's published ones.

Degenerate cases, where the reference divides by zero: Edit of two empty transcripts (only
background) is 100 here; F1 with no predicted or no ground-truth segment gives 0 (not an
error). With ``"asformer"``, NaN IoUs are kept as the reference has them (see above).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import TascodecError

__all__ = [
    "eval_segments",
    "accuracy",
    "frame_counts",
    "levenshtein",
    "edit_score",
    "f1_counts",
    "f1_from_counts",
    "evaluate_segmentation",
    "CONVENTIONS",
    "DEFAULT_CONVENTION",
    "check_convention",
]

DEFAULT_OVERLAPS = (0.1, 0.25, 0.5)
CONVENTIONS = ("asformer", "mstcn")
DEFAULT_CONVENTION = "asformer"


def check_convention(convention: str) -> str:
    """Validate ``convention`` (one of :data:`CONVENTIONS`); returns it."""
    if convention not in CONVENTIONS:
        raise TascodecError(
            f"convention: expected one of {list(CONVENTIONS)}, got {convention!r}"
        )
    return convention


def _as_labels(labels: np.ndarray | Sequence, what: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise TascodecError(f"{what}: frame labels must be 1-D (T,), got shape {arr.shape}")
    return arr


def eval_segments(
    labels: np.ndarray | Sequence,
    background: Sequence = (),
    *,
    convention: str = DEFAULT_CONVENTION,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-background segments of frame labels (T,) as ``(labels, starts, ends)`` (N,) each.

    Ends are exclusive, except that with ``convention="asformer"`` the last segment of the
    video ends at T - 1; with ``"mstcn"`` it ends at T.
    """
    check_convention(convention)
    y = _as_labels(labels, "labels")
    if y.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return y[:0], empty, empty.copy()
    change = np.flatnonzero(y[1:] != y[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    last_end = y.size - 1 if convention == "asformer" else y.size
    ends = np.concatenate((change, [last_end])).astype(np.int64)
    seg_labels = y[starts]
    if len(background):
        bg = np.asarray(list(background))
        if (bg.dtype.kind in "US") != (y.dtype.kind in "US"):
            raise TascodecError(
                f"background {list(background)!r} and frame labels (dtype {y.dtype}) are not of "
                "the same kind: pass class ids with id labels, names with name labels"
            )
        keep = ~np.isin(seg_labels, bg)
        seg_labels, starts, ends = seg_labels[keep], starts[keep], ends[keep]
    return seg_labels, starts, ends


def frame_counts(gt: np.ndarray | Sequence, pred: np.ndarray | Sequence) -> tuple[int, int]:
    """``(correct, total)`` frames of one video; ``gt`` and ``pred`` (T,) of the same length."""
    y, p = _as_labels(gt, "gt"), _as_labels(pred, "pred")
    if y.shape != p.shape:
        raise TascodecError(f"gt has {y.size} frames but pred has {p.size}")
    return int(np.count_nonzero(y == p)), int(y.size)


def accuracy(gt: np.ndarray | Sequence, pred: np.ndarray | Sequence) -> float:
    """Frame accuracy of one video in percent (0 for an empty video)."""
    correct, total = frame_counts(gt, pred)
    return 100.0 * correct / total if total else 0.0


def levenshtein(a: Sequence, b: Sequence) -> int:
    """Edit distance (insert, delete, substitute; cost 1 each) between two sequences."""
    a = np.asarray(list(a) if isinstance(a, str) else a)
    b = np.asarray(list(b) if isinstance(b, str) else b)
    if a.size > b.size:  # symmetric: loop over the shorter sequence
        a, b = b, a
    m, n = a.size, b.size
    if m == 0 or n == 0:
        return int(max(m, n))
    row = np.arange(n + 1, dtype=np.int64)
    j = np.arange(n + 1, dtype=np.int64)
    for i in range(1, m + 1):
        cost = (a[i - 1] != b).astype(np.int64)  # (n,)
        # without insertions: from the row above (deletion) or the diagonal (substitution)
        tmp = np.empty(n + 1, dtype=np.int64)
        tmp[0] = i
        tmp[1:] = np.minimum(row[1:] + 1, row[:-1] + cost)
        # insertions chain along the row: D[j] = min_k (tmp[k] + j - k)
        row = np.minimum.accumulate(tmp - j) + j
    return int(row[-1])


def edit_score(
    gt: np.ndarray | Sequence, pred: np.ndarray | Sequence, *, background: Sequence = ()
) -> float:
    """Edit score of one video in percent: ``(1 - lev / max(|P|, |Y|)) * 100``."""
    p_labels = eval_segments(pred, background)[0]
    y_labels = eval_segments(gt, background)[0]
    longest = max(p_labels.size, y_labels.size)
    if longest == 0:
        return 100.0
    return (1.0 - levenshtein(p_labels, y_labels) / longest) * 100.0


def f1_counts(
    gt: np.ndarray | Sequence,
    pred: np.ndarray | Sequence,
    overlap: float,
    *,
    background: Sequence = (),
    convention: str = DEFAULT_CONVENTION,
) -> tuple[int, int, int]:
    """``(tp, fp, fn)`` of one video at IoU threshold ``overlap`` (a fraction, e.g. 0.5)."""
    p_labels, p_start, p_end = eval_segments(pred, background, convention=convention)
    y_labels, y_start, y_end = eval_segments(gt, background, convention=convention)
    if y_labels.size == 0:
        return 0, int(p_labels.size), 0
    # IoU of every predicted (rows) with every ground-truth segment (columns): (P, Y)
    inter = np.minimum(p_end[:, None], y_end[None]) - np.maximum(p_start[:, None], y_start[None])
    union = np.maximum(p_end[:, None], y_end[None]) - np.minimum(p_start[:, None], y_start[None])
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = (inter / union.astype(np.float64)) * (p_labels[:, None] == y_labels[None])
    best = np.argmax(iou, axis=1)  # the first NaN of a row, if any, as in the reference
    best_iou = iou[np.arange(p_labels.size), best] >= overlap
    tp = fp = 0
    hits = np.zeros(y_labels.size, dtype=bool)
    for j, idx in enumerate(best.tolist()):  # sequential: earlier predictions claim first
        if best_iou[j] and not hits[idx]:
            tp += 1
            hits[idx] = True
        else:
            fp += 1
    return tp, fp, int(y_labels.size - hits.sum())


def f1_from_counts(tp: float, fp: float, fn: float) -> float:
    """F1 in percent from summed counts; 0 when precision + recall is 0 or undefined."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall) * 100.0


def _f1_key(overlap: float) -> str:
    pct = overlap * 100
    return f"f1@{int(round(pct))}" if abs(pct - round(pct)) < 1e-9 else f"f1@{pct:g}"


def evaluate_segmentation(
    gt: Sequence[np.ndarray | Sequence],
    pred: Sequence[np.ndarray | Sequence],
    *,
    background: Sequence = (),
    overlaps: Sequence[float] = DEFAULT_OVERLAPS,
    convention: str = DEFAULT_CONVENTION,
) -> dict[str, float]:
    """Acc, Edit and F1 at each overlap over V videos, in percent.

    ``gt[v]``, ``pred[v]``: frame labels (T_v,) of video v (int arrays or sequences of names,
    both of the same kind as ``background``). Returns ``{"acc", "edit", "f1@10", "f1@25",
    "f1@50"}`` for the default overlaps (keys ``f1@<100 * overlap>``). ``convention``:
    ``"asformer"`` (default) or ``"mstcn"``, the last segment's end (module docstring); Acc
    and Edit are the same under both.
    """
    check_convention(convention)
    if len(gt) != len(pred):
        raise TascodecError(f"gt has {len(gt)} videos but pred has {len(pred)}")
    if len(gt) == 0:
        raise TascodecError("gt: no videos to evaluate")
    for o in overlaps:
        if not 0.0 <= float(o) <= 1.0:
            raise TascodecError(f"overlaps: {o!r} is not a fraction in [0, 1]")
    correct = total = 0
    edit = 0.0
    counts = np.zeros((len(overlaps), 3), dtype=np.int64)
    for v, (y, p) in enumerate(zip(gt, pred)):
        y, p = _as_labels(y, f"gt[{v}]"), _as_labels(p, f"pred[{v}]")
        if y.shape != p.shape:
            raise TascodecError(f"video {v}: gt has {y.size} frames but pred has {p.size}")
        c, t = frame_counts(y, p)
        correct, total = correct + c, total + t
        edit += edit_score(y, p, background=background)
        for k, o in enumerate(overlaps):
            counts[k] += f1_counts(y, p, float(o), background=background,
                                   convention=convention)
    out = {"acc": 100.0 * correct / total if total else 0.0, "edit": edit / len(gt)}
    for k, o in enumerate(overlaps):
        out[_f1_key(float(o))] = f1_from_counts(*counts[k].tolist())
    return out
