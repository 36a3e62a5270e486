"""The budget accounting family of the standing adversarial run (issue 28 item 1): a decode's
peak traced memory (``tracemalloc``) stays at most ``MAX_RATIO`` times the decode budget's
estimate (``decode.budget.DecodePlan.total``) on every archive the suite builds.

Archives: every golden (``tests/data/*/*.tasz``: formats 1.0, 1.1, 2.0, 2.1, generated codes
included) and archives where codes dominate the decode: generated ``tca-random`` codes 256
wide over one-frame segments, raw and mean codes stored as float16 and int8, ``mlp`` codes 64
wide stored as int8 over one-frame instances, ``mlp+offset`` offsets over many segments, and
codes in chunks far larger than the video's rows. Each video is decoded in one open archive
(the first decode reads and folds the decoder, later ones find a cached chunk), once with the
default limit and once with a limit that splits it into segment groups.

``decode_traced`` is what ``adversarial.classify`` decodes with, so every mutant, swap, short
chunk and bomb the standing run builds is held to the same bound (outcome ``unbounded``).
"""

from __future__ import annotations

import tracemalloc
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from make_golden import CLASSES, mlp_decoder
from tascodec.content import ArchiveContent, SegmentTable
from tascodec.decode.budget import _segment_temporaries
from tascodec.decode.plan import video_plan
from tascodec.decode.view import video_view

MAX_RATIO = 1.5
DATA = Path(__file__).resolve().parents[1] / "data"


def estimate(ar, video, limit=None):
    """The budget's plan of decoding ``video`` (``TascodecError`` as the decode would)."""
    view = video_view(ar, video)
    return video_plan(view, limit), view


def decode_traced(ar, video, record: list, limit=None):
    """``ar.decode(video, limit=limit)`` under ``tracemalloc``, appending ``(peak bytes,
    estimated bytes)`` to ``record`` whether it returns or raises (what it raises
    propagates; so does a ``TascodecError`` of the estimate, before anything is decoded)."""
    plan = estimate(ar, video, limit)[0]
    tracemalloc.start()
    try:
        return ar.decode(video, limit=limit)
    finally:
        record.append((tracemalloc.get_traced_memory()[1], plan.total))
        tracemalloc.stop()


def over_budget(record: list) -> bool:
    """Whether a recorded decode peaked above ``MAX_RATIO`` x its estimate."""
    return any(peak > MAX_RATIO * total for peak, total in record)


def traced_decode(ar, video, limit=None) -> tuple[int, int]:
    """Decode ``video`` under ``tracemalloc``: ``(peak bytes, estimated bytes)``."""
    record: list = []
    decode_traced(ar, video, record, limit)
    return record[0]


def grouping_limit(ar, video) -> int:
    """A limit that leaves room for the largest segment's temporaries only (segment groups)."""
    plan, view = estimate(ar, video)
    seg = _segment_temporaries(view.kind, view.length, view.k_eff, view.hidden_dim,
                               int(ar.feature_dim))
    if view.spec.across_segments:  # a segment decodes with its neighbours
        padded = np.concatenate(([0], seg, [0])).astype(object)
        seg = padded[:-2] + padded[1:-1] + padded[2:]
    return plan.total - plan.temporaries + int(max(seg))


def _table(videos: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> SegmentTable:
    """``{name: (action, length, k)}`` -> one SegmentTable."""
    acts, lens, ks = (np.concatenate([v[i] for v in videos.values()]).astype(np.int64)
                      for i in range(3))
    return SegmentTable(list(videos), np.array([int(v[1].sum()) for v in videos.values()]),
                        np.array([v[0].size for v in videos.values()]), acts, lens, ks)


def _segments(rng, count: int, longest: int, k: str | int = 1):
    action = rng.integers(0, len(CLASSES), count)
    length = rng.integers(1, longest + 1, count)
    kk = length.copy() if k == "all" else np.minimum(length, k)
    return action, length, kk


def _content(kind: str, table: SegmentTable, d: int, D: int, H: int, codes_of, rng, **kw):
    decoder = mlp_decoder(rng, d=d, h=H, D=D) if kind != "repeat" else None
    codec = {"repeat": "raw", "mlp": "inversion", "mlp+offset": "mean+inversion",
             "mlp+lerp-video": "pca"}[kind]
    return ArchiveContent(codec, {"id": codec}, kind, list(CLASSES),
                          {"train.split1": table.video_names}, table, codes_of(table.num_codes),
                          d, D, decoder, {"note": "budget family"}, **kw)


def built(workdir: Path) -> list[tuple[str, Path]]:
    """``(name, path)`` of the archives this family writes into ``workdir``."""
    from tascodec.format import write_archive

    rng = np.random.default_rng(28)
    normal = lambda d: (lambda n: rng.normal(size=(n, d)).astype(np.float32))  # noqa: E731
    out = []

    def add(name, content, **kw):
        out.append((name, write_archive(content, workdir / f"{name}.tasz", **kw)))

    one_frame = _table({"a": _segments(rng, 1500, 1), "b": _segments(rng, 700, 2)})
    random = replace(_content("mlp", one_frame, 256, 4, 8, normal(256), rng), codec="tca-random",
                     codec_config={"id": "tca-random", "k": 1, "seed": 7}, codes=None)
    add("tca-random-wide", random)
    raw = _table({"a": _segments(rng, 300, 12, "all"), "b": _segments(rng, 40, 30, "all")})
    for dtype in ("float16", "int8", "float32"):
        add(f"raw-{dtype}", _content("repeat", raw, 64, 64, 0, normal(64), rng),
            code_dtype=dtype)
    add("raw-big-chunks", _content("repeat", raw, 64, 64, 0, normal(64), rng),
        codes_chunk_bytes=16 << 20)
    mlp = _table({"a": _segments(rng, 800, 2, "all"), "b": _segments(rng, 50, 40, 3)})
    add("mlp-int8-wide", _content("mlp", mlp, 64, 6, 16, normal(64), rng), code_dtype="int8")
    add("mlp-float16-wide", _content("mlp", mlp, 64, 6, 16, normal(64), rng),
        code_dtype="float16")
    many = _table({"a": _segments(rng, 1200, 3, 1), "b": _segments(rng, 30, 50, 4)})
    offsets = lambda dt: dict(segment_offsets=rng.normal(size=(many.seg_action.size, 48))  # noqa: E731
                              .astype(np.float32), offset_dtype=dt)
    for dt in ("int8", "float32"):
        add(f"offsets-{dt}", _content("mlp+offset", many, 8, 48, 16, normal(8), rng,
                                      **offsets(dt)))
    add("lerp-video-int8", _content("mlp+lerp-video", mlp, 64, 6, 16, normal(64), rng),
        code_dtype="int8")
    return out


def goldens() -> list[tuple[str, Path]]:
    return [(f"{p.parent.name}/{p.stem}", p) for p in sorted(DATA.glob("*/*.tasz"))]


def run_budget(workdir: Path, *, detail: list | None = None) -> Counter:
    """Every archive, every video, default and grouping limits: ``ok`` when the peak is at
    most ``MAX_RATIO`` x the estimate, else ``unbounded``. ``detail`` (optional) receives
    ``(archive, video, limit, peak, estimate)`` rows."""
    from tascodec.format import open_archive

    counts: Counter = Counter()
    for name, path in [*goldens(), *built(Path(workdir))]:
        with open_archive(path) as ar:
            videos = list(ar.videos)
            for v in videos:
                for limit in (None, grouping_limit(ar, v)):
                    peak, total = traced_decode(ar, v, limit)
                    counts["ok" if peak <= MAX_RATIO * total else "unbounded"] += 1
                    if detail is not None:
                        detail.append((name, v, limit, peak, total))
    return counts
