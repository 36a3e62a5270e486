"""Synthetic frame features (``tascodec.synth.features``): the structure of pooled CNN
activations, measured on a synthesized dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tascodec.dataset.layout import StandardDataset
from tascodec.segments import labels_to_segments
from tascodec.synth import synthesize


def test_feature_structure(tmp_path: Path) -> None:
    root = synthesize(tmp_path / "g", "gtea", dim=64)
    ds = StandardDataset(root)
    xs = [ds.features(v) for v in ds.videos]
    ys = [ds.labels(v) for v in ds.videos]
    # temporally correlated, not i.i.d.
    lag1 = np.mean([np.corrcoef(x[:, :-1].ravel(), x[:, 1:].ravel())[0, 1] for x in xs])
    assert lag1 > 0.8
    # not all features are zero: a pooled-activation-like density
    density = np.mean([np.mean(x > 0) for x in xs])
    assert 0.3 < density < 0.95
    # classes are separable on average, and confusable pairs are closer than the others
    X = np.concatenate(xs, axis=1).T
    Y = np.concatenate(ys)
    cents = np.stack([X[Y == a].mean(0) for a in range(ds.num_classes)])
    dist = np.linalg.norm(cents[:, None] - cents[None], axis=-1)
    pairs = json.loads((root / "synth.json").read_text())["confusable_pairs"]
    assert pairs
    idx = [(ds.class_names.index(a), ds.class_names.index(b)) for a, b in pairs]
    conf = np.mean([dist[a, b] for a, b in idx])
    others = np.mean([dist[a, b] for a in range(11) for b in range(a + 1, 11)
                      if (a, b) not in idx and (b, a) not in idx])
    assert conf < 0.7 * others
    # nearest-centroid frame accuracy: well above chance, but far from perfect
    pred = np.argmin(((X[:, None, :] - cents[None]) ** 2).sum(-1), axis=1)
    acc = np.mean(pred == Y)
    assert 0.3 < acc < 0.95
    # confusable pairs are confused with each other far more than with other classes, so
    # a model needs the temporal context (neighbouring segments) to tell them apart
    def confusion(a: int, b: int) -> float:
        return float(np.mean(pred[Y == a] == b))

    pair_rate = np.mean([confusion(a, b) + confusion(b, a) for a, b in idx]) / 2
    paired = {a for p in idx for a in p}
    other_rate = np.mean([confusion(a, b) for a in paired for b in range(11)
                          if b != a and (a, b) not in idx and (b, a) not in idx])
    assert pair_rate > 2 * other_rate
    # within a segment the features drift with progress: first vs last third differ
    x, y = xs[0], ys[0]
    seg = labels_to_segments(y)
    longest = int(np.argmax(seg.length))
    s, l = int(seg.start[longest]), int(seg.length[longest])
    head = x[:, s : s + l // 3].mean(1)
    tail = x[:, s + 2 * l // 3 : s + l].mean(1)
    assert np.linalg.norm(head - tail) > 0.05 * np.linalg.norm(head)
