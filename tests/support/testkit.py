"""Helpers shared by test modules of several folders (this folder is on pytest's ``pythonpath``,
``pyproject.toml``): small archives and decoders (``small_content``, ``write_small_archive``,
``random_decoder``, ``random_table``, ``assert_tables_equal``), killed and torchrun'd processes (``spawn``,
``kill_after``, ``torchrun``), inversion inputs (``make_source``, ``table_of``), a remote
archive (``big_content``, ``entry_span``) and byte-level mutants of an archive (``mutants``).

The other modules here are the helpers' own programs: the adversarial runs
(``adversarial*.py``), the local servers (``range_server``, ``hub_server``), older releases
(``old_readers``), the segmentation reference models and the torchrun rank (``dist_worker``)."""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from tascodec.content import ArchiveContent, DecoderCheckpoint, SegmentTable
from tascodec.decode.plan import video_plan
from tascodec.decode.view import video_view
from tascodec.format import open_archive
from tascodec.dataset.source import ArraySource
from tascodec.segments import num_instances

ROOT = Path(__file__).resolve().parents[2]  # the repository
WORKER = Path(__file__).with_name("dist_worker.py")  # a torchrun rank: the CLI with test hooks


# ------------------------------------------------------------------- archives and decoders
def random_decoder(rng, d=8, a=4, h=16, dim=12, c_scale=1.0, zero_c=0) -> DecoderCheckpoint:
    """A random ``tca-mlp`` checkpoint; ``zero_c`` hidden units get ``w_c = 0``."""
    w1 = rng.standard_normal((h, d + a + 1)).astype(np.float32)
    w1[:, -1] *= c_scale
    w1[:zero_c, -1] = 0
    return DecoderCheckpoint(
        arch={"name": "tca-mlp", "latent_dim": d, "num_classes": a, "hidden_dim": h,
              "feature_dim": dim, "activation": "relu"},
        tensors={
            "w1": w1,
            "b1": rng.standard_normal(h).astype(np.float32),
            "w2": rng.standard_normal((dim, h)).astype(np.float32),
            "b2": rng.standard_normal(dim).astype(np.float32),
            "feature_offset": rng.standard_normal(dim).astype(np.float32),
            "feature_scale": rng.uniform(0.5, 2.0, dim).astype(np.float32),
        },
    )


def random_table(rng, num_segments, max_len, k, a=4):
    length = rng.integers(1, max_len + 1, num_segments)
    action = rng.integers(0, a, num_segments)
    return action, length, num_instances(length, k)


def small_content(seed: int = 0, kind: str = "mlp", videos: int = 5):
    """ArchiveContent by hand: d=8, A=4, H=16, D=12, K=3; splits train/test.split1 + split2."""
    rng = np.random.default_rng(seed)
    names = [f"vid{i:02d}" for i in range(videos)]
    labels = []
    for _ in names:
        length = rng.integers(1, 25, rng.integers(1, 6))
        labels.append(np.repeat(rng.integers(0, 4, length.size), length))
    table = SegmentTable.from_labels(names, labels, k=3)
    width = 8 if kind == "mlp" else 12
    return ArchiveContent(
        codec="inversion" if kind == "mlp" else "mean",
        codec_config={"id": "inversion", "k": 3} if kind == "mlp" else {"id": "mean"},
        decode_kind=kind,
        class_names=["take", "open", "pour", "background"],
        splits={"train.split1": names[:3], "test.split1": names[3:],
                "train.split2": names[2:], "test.split2": names[:2]},
        table=table,
        codes=rng.standard_normal((table.num_codes, width)).astype(np.float32),
        code_dim=width,
        feature_dim=12,
        decoder=random_decoder(rng) if kind == "mlp" else None,
    )


def assert_tables_equal(got: SegmentTable, want: SegmentTable) -> None:
    """The per-video and per-segment arrays of two segment tables are equal."""
    for name in ("video_num_frames", "video_num_segments", "seg_action", "seg_length",
                 "seg_num_instances"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def write_small_archive(path, seed: int = 0, kind: str = "mlp", videos: int = 5):
    from tascodec.format import write_archive

    return write_archive(small_content(seed, kind, videos), path)


# ------------------------------------------------------------------------------ processes
def spawn(code: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-c", code], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after(proc: subprocess.Popen, seconds: float, started=None) -> bool:
    """SIGKILL ``proc`` ``seconds`` after ``started()`` holds (or after its start) unless it
    ended first; whether it was killed."""
    deadline = time.monotonic() + 60
    while started is not None and not started() and proc.poll() is None:
        if time.monotonic() > deadline:  # pragma: no cover
            break
        time.sleep(0.002)
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def torchrun(*args: str, env: dict[str, str] | None = None, timeout: float = 180
              ) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "TASCODEC_DIST_TIMEOUT": "60",
                "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                **(env or {})}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node=2", str(WORKER), *args]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


# ------------------------------------------------------------------------ inversion inputs
def make_source(videos=3, frames=90, dim=24, classes=4, seed=0, lengths=(3, 30)) -> ArraySource:
    rng = np.random.default_rng(seed)
    means, trend = rng.normal(size=(classes, dim)) * 2, rng.normal(size=(classes, dim))
    feats, labels = {}, {}
    for v in range(videos):
        xs, ys, t, prev = [], [], 0, -1
        while t < frames:
            n = int(min(rng.integers(*lengths), frames - t))
            a = int((prev + 1 + rng.integers(classes - 1)) % classes)  # differs from prev
            c = np.linspace(0, 1, n)[:, None]
            xs.append(means[a] + rng.normal(size=dim) * 0.7 + c * trend[a]
                      + 0.2 * rng.normal(size=(n, dim)) + 5.0)
            ys.append(np.full(n, a))
            t, prev = t + n, a
        feats[f"v{v}"] = np.concatenate(xs).astype(np.float32)
        labels[f"v{v}"] = np.concatenate(ys)
    return ArraySource(feats, labels, [f"a{i}" for i in range(classes)])


def table_of(src, k, videos=None) -> SegmentTable:
    names = list(src.videos if videos is None else videos)
    return SegmentTable.from_labels(names, [src.labels(v) for v in names], k)


# ------------------------------------------------------------------------- remote archives
def big_content(videos: int = 8, width: int = 64) -> ArchiveContent:
    """A raw-codec archive of ~200 KB: far larger than the tail a remote open reads."""
    rng = np.random.default_rng(5)
    names = [f"v{i}" for i in range(videos)]
    labels = [np.repeat(rng.integers(0, 4, 5), rng.integers(10, 30, 5)) for _ in names]
    table = SegmentTable.from_labels(names, labels, None)
    codes = rng.standard_normal((table.num_codes, width)).astype(np.float32)
    return ArchiveContent("raw", {"id": "raw"}, "repeat", ["a", "b", "c", "d"],
                          {"train.split1": names[:6], "test.split1": names[6:]},
                          table, codes, width, width, None)


def entry_span(path: Path, names: list[str]) -> int:
    """Bytes of the local headers and data of entries ``names``."""
    infos = {i.filename: i for i in zipfile.ZipFile(path).infolist()}
    return sum(30 + len(n.encode()) + infos[n].file_size for n in names)


# ------------------------------------------------------------------------- byte mutations
def zip_regions(data: bytes) -> list[int]:
    """Offsets where ZIP structures start or end: local headers, data, central directory, EOCD."""
    out = {0, len(data)}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            start = info.header_offset + 30 + len(info.filename)
            out.update(
                {
                    info.header_offset,
                    info.header_offset + 1,
                    start,
                    start + info.file_size // 2,
                    start + info.file_size - 1,
                    start + info.file_size,
                }
            )
        out.add(zf.start_dir)
    eocd = data.rfind(b"PK\x05\x06")
    out.update({eocd, eocd + 10, eocd + 20})
    return sorted(o for o in out if 0 <= o <= len(data))


def mutants(data: bytes, count: int, seed: int = 0):
    """``count`` deterministic mutations of ``data``."""
    rng = np.random.default_rng(seed)
    n = len(data)
    regions = zip_regions(data)
    for i in range(count):
        b = bytearray(data)
        op = i % 6
        if op == 0:  # one flipped bit
            pos = int(rng.integers(n))
            b[pos] ^= 1 << int(rng.integers(8))
        elif op == 1:  # a few random bytes
            for pos in rng.integers(n, size=int(rng.integers(1, 5))):
                b[int(pos)] = int(rng.integers(256))
        elif op == 2:  # a huge or negative-looking integer (sizes, offsets, counts)
            pos = int(rng.integers(n - 4))
            value = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000000, 0][int(rng.integers(5))]
            b[pos : pos + 4] = struct.pack("<I", value)
        elif op == 3:  # truncation, at a region boundary or anywhere
            cut = regions[i // 6 % len(regions)] if i // 6 < len(regions) else int(rng.integers(n))
            del b[cut:]
        elif op == 4:  # a span deleted
            lo = int(rng.integers(n))
            del b[lo : lo + int(rng.integers(1, 64))]
        else:  # a span duplicated
            lo = int(rng.integers(n))
            b[lo:lo] = b[lo : lo + int(rng.integers(1, 64))]
        yield bytes(b)


def offset_content(seed: int = 5, dtype: str = "int8"):
    """``small_content`` with decode kind ``"mlp+offset"`` and offsets (S, 12) ~ 5 N(0, 1)."""
    c = small_content(seed, "mlp")
    rng = np.random.default_rng(seed + 100)
    offsets = (5 * rng.standard_normal((c.table.seg_action.size, 12))).astype(np.float32)
    return replace(c, codec="mean+inversion", codec_config={"id": "mean+inversion", "k": 3},
                   decode_kind="mlp+offset", segment_offsets=offsets, offset_dtype=dtype)


def check_decode_in_segment_groups(path, limit: int) -> None:
    """The longest video of the archive at ``path`` decodes to the same bits whole and under
    ``limit``, which really splits it into segment groups."""
    with open_archive(path) as ar:
        v = max(ar.videos, key=lambda n: len(ar.labels(n)))
        whole = ar.decode(v)
    with open_archive(path, decode_limit=limit) as small:
        assert len(video_plan(video_view(small, v)).groups) > 1
        np.testing.assert_array_equal(small.decode(v), whole)


def lerp_case(segs) -> tuple[np.ndarray, np.ndarray]:
    """``(length, k_eff)`` (S,) of hypothesis' ``[(l, k), ...]`` (k capped at l)."""
    return np.array([l for l, _ in segs]), np.array([min(k, l) for l, k in segs])


def check_least_squares_codes(segs, seed: int, interpolation: str) -> None:
    """``pca.fit_codes(..., interpolation)`` solves the least-squares problem of the
    interpolation ``segments.lerp_weights`` gives (inside segments or over the video)."""
    from tascodec.codecs.pca import INTERPOLATIONS, fit_codes
    from tascodec.content import KINDS
    from tascodec.segments import lerp_weights

    length, k_eff = lerp_case(segs)
    coef = np.random.default_rng(seed).standard_normal((int(length.sum()), 2))
    across = KINDS[INTERPOLATIONS[interpolation]].across_segments
    left, right, w = lerp_weights(length, k_eff, across)
    a = np.zeros((coef.shape[0], int(k_eff.sum())))
    a[np.arange(coef.shape[0]), left] += 1 - w.astype(np.float64)
    a[np.arange(coef.shape[0]), right] += w.astype(np.float64)
    want = np.linalg.lstsq(a, coef, rcond=None)[0]
    got = fit_codes(coef, length, k_eff, interpolation)
    np.testing.assert_allclose(a @ got, a @ want, atol=1e-6)


def interpolated_codes(segs, across_segments: bool = False):
    """``(length, k_eff, codes, z)``: random codes of hypothesis' segments and each frame's
    interpolated code by ``segments.lerp_weights`` (its weights checked to lie in [0, 1]
    between neighbouring instances)."""
    from tascodec.segments import lerp_weights

    length, k_eff = lerp_case(segs)
    codes = np.random.default_rng(0).standard_normal((int(k_eff.sum()), 3)).astype(np.float32)
    left, right, w = lerp_weights(length, k_eff, across_segments)
    assert ((w >= 0) & (w <= 1)).all() and (right - left <= 1).all() and (left <= right).all()
    return length, k_eff, codes, codes[left] + w[:, None] * (codes[right] - codes[left])


def check_pca_decoder_decodes(kind: str, normative) -> None:
    """With the ``pca`` codec's pass-through decoder a frame of an interpolating ``kind`` is
    ``mean + basis z``, z ``normative(codes, length, k_eff)`` (the spec's words); the
    structured decode agrees with the plain forward pass."""
    from tascodec.codecs.pca import pca_decoder
    from tascodec.decode import decode_reference, decode_segments

    rng = np.random.default_rng(3)
    length, k_eff = np.array([9, 1, 30, 4]), np.array([3, 1, 8, 4])
    codes = rng.standard_normal((k_eff.sum(), 5)).astype(np.float32)
    basis = np.linalg.qr(rng.standard_normal((16, 5)))[0]
    dec = pca_decoder(rng.standard_normal(16), basis, np.abs(codes).max(0), 4)
    action = np.array([0, 1, 2, 3])
    fast = decode_segments(kind, codes, action, length, k_eff, dec)
    np.testing.assert_allclose(fast, decode_reference(kind, codes, action, length, k_eff, dec),
                               rtol=1e-5, atol=1e-5)
    mean = dec.tensors["feature_offset"] + dec.tensors["w2"] @ dec.tensors["b1"]
    np.testing.assert_allclose(fast, mean + normative(codes, length, k_eff) @ dec.tensors["w2"].T,
                               rtol=1e-5, atol=1e-5)
