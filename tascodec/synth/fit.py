"""Fit preset tables (trigram grammars, length quantiles) from real ground truth.

Used offline by ``benchmarks/synth_stats.py --refit``; the package itself only reads the
stored result in ``tascodec/synth/fitted.json``, never the real data.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from ..dataset.layout import read_mapping
from ..segments import labels_to_segments
from .grammar import END, START

__all__ = ["read_ground_truth", "fit_tables", "segment_stats"]


def read_ground_truth(root: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Class names and per-video label ids (T,) of a layout, reading only labels."""

    names = read_mapping(Path(root) / "mapping.txt")
    index = {n: i for i, n in enumerate(names)}
    out: dict[str, np.ndarray] = {}
    for path in sorted((Path(root) / "groundTruth").glob("*.txt")):
        lines = [s.strip() for s in path.read_text().splitlines() if s.strip()]
        out[path.stem] = np.array([index[s] for s in lines], dtype=np.int64)
    return names, out


def segment_stats(labels: dict[str, np.ndarray]) -> dict[str, float]:
    """Frames/video, segments/video and segment length mean/median of a set of videos."""
    frames, segs, lengths = [], [], []
    classes: set[int] = set()
    for y in labels.values():
        s = labels_to_segments(y)
        frames.append(y.size)
        segs.append(len(s))
        lengths.append(s.length)
        classes.update(np.unique(y).tolist())
    all_len = np.concatenate(lengths) if lengths else np.zeros(0)
    return {
        "videos": len(labels),
        "classes_used": len(classes),
        "frames_mean": float(np.mean(frames)),
        "segments_mean": float(np.mean(segs)),
        "length_mean": float(all_len.mean()),
        "length_median": float(np.median(all_len)),
    }


def fit_tables(
    names: list[str],
    labels: dict[str, np.ndarray],
    activity_of: Callable[[str], str],
    *,
    permutation: list[int] | None = None,
    quantiles: int = 51,
) -> dict:
    """Grammar and length tables of a dataset as plain JSON-able data.

    ``activity_of(video)`` names a video's activity (one trigram table each); lengths are
    ``quantiles`` quantiles of each class's log segment length.

    ``permutation[new_id] = old_id`` reorders the classes (e.g. to put background last).
    """
    if permutation is not None:
        inv = np.empty(len(permutation), dtype=np.int64)
        inv[np.asarray(permutation)] = np.arange(len(permutation))
        labels = {v: inv[y] for v, y in labels.items()}
        names = [names[o] for o in permutation]
    counts: dict[str, dict[tuple[int, int], Counter]] = defaultdict(lambda: defaultdict(Counter))
    videos_per: Counter = Counter()
    seg_counts: dict[str, list[int]] = defaultdict(list)
    per_class: dict[int, list[int]] = defaultdict(list)
    max_segments = 0
    for video, y in sorted(labels.items()):
        seg = labels_to_segments(y)
        act = activity_of(video)
        videos_per[act] += 1
        seg_counts[act].append(len(seg))
        prev = (START, START)
        for a, length in zip(seg.action.tolist(), seg.length.tolist()):
            counts[act][prev][a] += 1
            per_class[a].append(length)
            prev = (prev[1], a)
        counts[act][prev][END] += 1
        max_segments = max(max_segments, len(seg))
    probs = np.linspace(0.0, 1.0, quantiles)
    log_q = []
    for a in range(len(names)):
        x = np.log(np.asarray(per_class.get(a, [10]), dtype=np.float64))
        log_q.append([round(float(v), 3) for v in np.quantile(x, probs)])
    activities = {
        act: {
            "weight": videos_per[act],
            "count_quantiles": [round(float(v), 2) for v in np.quantile(seg_counts[act], probs)],
            "transitions": {
                f"{prev[0]} {prev[1]}": sorted([[int(n), int(c)] for n, c in nxt.items()])
                for prev, nxt in sorted(table.items())
            },
        }
        for act, table in sorted(counts.items())
    }
    return {
        "classes": list(names),
        "activities": activities,
        "log_length_quantiles": log_q,
        "max_segments": int(max_segments),
        "stats": {k: round(v, 2) for k, v in segment_stats(labels).items()},
    }
