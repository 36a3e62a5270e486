"""tascodec against what a user would pick instead, on a split's training features.

    python -m benchmarks.bench_peers [--quick] [--datasets gtea-tcn128,synth:gtea:2048]
        [--out DIR] [--no-tascodec] [--pca-dims 256] [--recipe cpu]

Peers: float32 .npy; float16 .npy; lossless zstd and blosc (numcodecs) of the float32 bytes;
float16 + blosc; PCA to ``--pca-dims`` (at most D/2; fit on the training frames, stores
components + mean + projections); int8 with a per-channel affine scale. For each: bytes, ratio
to float32, per-element MSE and relative MSE (MSE / feature variance), mean per-frame cosine
similarity vs the original, encode wall time, decode frames/s. tascodec rows (gamma = 1, so
every frame is stored and compared) are added when ``tascodec.encode`` / ``tascodec.open``
import; otherwise skipped with a note. Writes ``peers.json`` / ``peers.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


from ._common import (
    call_supported,
    machine,
    machine_line,
    markdown_table,
    parse_list,
    resolve_dataset,
    timed,
    write_results,
)

from tascodec.codecs.options import taken_options
from tascodec.units import format_bytes

# tascodec rows: name -> encode() keywords (every frame stored: gamma = 1).
TASCODEC_ROWS: dict[str, dict[str, Any]] = {
    "tascodec raw-f16": {"codec": "raw", "code_dtype": "float16"},
    "tascodec mean": {"codec": "mean", "k": 1},
    "tascodec coreset": {"codec": "coreset", "k": 1},
    "tascodec encoded K=8": {"codec": "encoded", "k": 8},
    "tascodec inversion K=8": {"codec": "inversion", "k": 8},
    "tascodec inversion K=8 int8": {"codec": "inversion", "k": 8, "code_dtype": "int8"},
    "tascodec inversion per-frame": {"codec": "inversion", "k": None},
}
QUICK_TASCODEC = ["tascodec mean", "tascodec inversion K=8"]

# A peer: encode(list of (D, T) float32) -> (blobs, extra bytes); decode(blobs) -> list (D, T).
Peer = tuple[Callable[[list[np.ndarray]], Any], Callable[[Any], list[np.ndarray]], Callable[[Any], int]]


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _npy_load(b: bytes) -> np.ndarray:
    return np.load(io.BytesIO(b), allow_pickle=False)


def _blob_size(blobs: list[bytes]) -> int:
    return sum(len(b) for b in blobs)


def peer_npy(dtype: str) -> Peer:
    def enc(xs):
        return [_npy_bytes(x.astype(dtype, copy=False)) for x in xs]

    def dec(blobs):
        return [_npy_load(b).astype(np.float32, copy=False) for b in blobs]

    return enc, dec, _blob_size


def peer_numcodecs(codec: Any, dtype: str = "float32") -> Peer:
    def enc(xs):
        return [(codec.encode(np.ascontiguousarray(x.astype(dtype, copy=False))), x.shape) for x in xs]

    def dec(blobs):
        return [np.frombuffer(codec.decode(b), dtype=dtype).reshape(s).astype(np.float32)
                for b, s in blobs]

    return enc, dec, lambda blobs: sum(len(b) for b, _ in blobs)


def peer_pca(dims: int) -> Peer:
    def enc(xs):
        frames = np.concatenate(xs, axis=1).astype(np.float64)  # (D, sum T)
        mean = frames.mean(axis=1, keepdims=True)
        cov = (frames - mean) @ (frames - mean).T / frames.shape[1]
        _, vecs = np.linalg.eigh(cov)
        comp = vecs[:, ::-1][:, :dims].T.astype(np.float32)  # (k, D)
        mean32 = mean.astype(np.float32)
        return comp, mean32, [comp @ (x - mean32) for x in xs]  # projections (k, T)

    def dec(blob):
        comp, mean, projs = blob
        return [comp.T @ p + mean for p in projs]

    def size(blob):
        comp, mean, projs = blob
        return comp.nbytes + mean.nbytes + sum(p.nbytes for p in projs)

    return enc, dec, size


def peer_int8() -> Peer:
    def enc(xs):
        lo = np.min([x.min(axis=1) for x in xs], axis=0)[:, None]  # (D, 1)
        hi = np.max([x.max(axis=1) for x in xs], axis=0)[:, None]
        scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0).astype(np.float32)
        qs = [np.clip(np.rint((x - lo) / scale) - 128, -128, 127).astype(np.int8) for x in xs]
        return lo.astype(np.float32), scale, qs

    def dec(blob):
        lo, scale, qs = blob
        return [(q.astype(np.float32) + 128) * scale + lo for q in qs]

    def size(blob):
        lo, scale, qs = blob
        return lo.nbytes + scale.nbytes + sum(q.nbytes for q in qs)

    return enc, dec, size


def fidelity(xs: list[np.ndarray], ys: list[np.ndarray]) -> dict[str, float]:
    """MSE per element, MSE / feature variance, mean per-frame cosine; xs, ys lists of (D, T)."""
    se = n = 0.0
    cos_sum = frames = 0.0
    var_sum = 0.0
    mean = np.concatenate(xs, axis=1).mean(axis=1, keepdims=True)
    for x, y in zip(xs, ys):
        if y.shape != x.shape:
            raise ValueError(f"decoded shape {y.shape} differs from the original {x.shape}")
        d = (y - x).astype(np.float64)
        se += float((d * d).sum())
        var_sum += float(((x - mean) ** 2).sum())
        n += x.size
        nx, ny = np.linalg.norm(x, axis=0), np.linalg.norm(y, axis=0)
        cos = (x * y).sum(axis=0) / np.maximum(nx * ny, 1e-12)
        cos_sum += float(cos.sum())
        frames += x.shape[1]
    return {"mse": se / n, "rel_mse": se / max(var_sum, 1e-30), "cosine": cos_sum / frames}


def run_peer(name: str, peer: Peer, xs: list[np.ndarray]) -> dict[str, Any]:
    enc, dec, size = peer
    blob, t_enc = timed(enc, xs)
    ys, t_dec = timed(dec, blob, repeat=2)
    frames = sum(x.shape[1] for x in xs)
    return {"name": name, "bytes": int(size(blob)), "encode_s": t_enc,
            "decode_fps": frames / max(t_dec, 1e-9), **fidelity(xs, ys)}


def run_tascodec(name: str, params: dict[str, Any], root: Path, videos: list[str],
                 xs: list[np.ndarray], work: Path, args: argparse.Namespace,
                 cache: dict[str, Any]) -> dict[str, Any]:
    from tascodec.encoding.encode import encode
    from tascodec.format import open_archive

    path = work / (name.replace(" ", "_").replace("=", "") + ".tasz")
    try:
        summary, dropped = call_supported(
            encode, root, path, split="train.split1", gamma=1.0, device=args.device,
            overwrite=True, progress=False, cache=cache, seed=0, **params,
            **taken_options(params["codec"], {"recipe": args.recipe}),
        )
        with open_archive(path) as ar:
            missing = [v for v in videos if v not in set(ar.videos)]
            if missing:
                raise RuntimeError(f"archive lacks {len(missing)} training videos")
            start = time.perf_counter()
            ys = [np.asarray(ar.decode(v)).T for v in videos]
            t_dec = time.perf_counter() - start
        frames = sum(x.shape[1] for x in xs)
        row = {"name": name, "bytes": path.stat().st_size,
               "encode_s": float(summary.seconds.get("total", float("nan"))),
               "decode_fps": frames / max(t_dec, 1e-9), **fidelity(xs, ys)}
        if dropped:
            row["note"] = f"encode ignored {dropped}"
        return row
    except Exception as exc:
        return {"name": name, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        if path.exists():
            path.unlink()


def table(rows: list[dict[str, Any]], f32_bytes: int) -> str:
    out = []
    for r in rows:
        if "error" in r:
            out.append([r["name"], "-", "-", "-", "-", "-", "-", "-", r["error"][:80]])
            continue
        out.append([
            r["name"], format_bytes(r["bytes"]), f"{f32_bytes / r['bytes']:.1f}x",
            f"{r['mse']:.3g}", f"{r['rel_mse']:.3g}", f"{r['cosine']:.4f}",
            f"{r['encode_s']:.2f}", f"{r['decode_fps'] / 1e3:,.0f}k", r.get("note", ""),
        ])
    return markdown_table(["format", "bytes", "ratio", "MSE", "rel. MSE", "cosine",
                           "encode s", "decode frames/s", "notes"], out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="gtea-tcn128 only, tascodec rows mean + inversion with the quick recipe")
    p.add_argument("--datasets", default=None,
                   help="default gtea-tcn128,synth:gtea:2048 (quick: gtea-tcn128)")
    p.add_argument("--pca-dims", type=int, default=256)
    p.add_argument("--no-tascodec", action="store_true")
    p.add_argument("--recipe", default=None, help="encode recipe (default cpu; quick quick)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/peers"))
    args = p.parse_args(argv)
    args.recipe = args.recipe or ("quick" if args.quick else "cpu")
    datasets = parse_list(args.datasets or ("gtea-tcn128" if args.quick
                                            else "gtea-tcn128,synth:gtea:2048"))
    import numcodecs

    info = machine()
    payload: dict[str, Any] = {"machine": info, "config": vars(args) | {"out": str(args.out)},
                               "datasets": {}}
    md = ["# Storage peers (training split 1)", "", machine_line(info), ""]
    for dname in datasets:
        from tascodec.dataset.layout import StandardDataset

        root = resolve_dataset(dname, args.out / "data")
        ds = StandardDataset(root)
        videos = ds.split("train.split1")
        xs = [np.array(ds.features(v), dtype=np.float32) for v in videos]
        dim = ds.feature_dim
        f32 = sum(x.nbytes for x in xs)
        k = min(args.pca_dims, dim // 2)
        peers: list[tuple[str, Peer]] = [
            ("float32 .npy", peer_npy("float32")),
            ("float16 .npy", peer_npy("float16")),
            ("zstd-3 (lossless)", peer_numcodecs(numcodecs.Zstd(level=3))),
            ("blosc zstd-5 shuffle (lossless)",
             peer_numcodecs(numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE))),
            ("float16 + blosc", peer_numcodecs(
                numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE), "float16")),
            (f"PCA-{k}" + ("" if k == args.pca_dims else f" (D/2; {args.pca_dims} > D/2)"),
             peer_pca(k)),
            ("int8 per-channel", peer_int8()),
        ]
        rows = []
        for name, peer in peers:
            rows.append(run_peer(name, peer, xs))
            print(f"[{dname}] {name}: done", file=sys.stderr)
        notes = []
        if not args.no_tascodec:
            try:
                from tascodec.encoding.encode import encode  # noqa: F401 - import check
                from tascodec.format import open_archive  # noqa: F401
            except ImportError as exc:
                notes.append(f"tascodec rows skipped: {exc}")
            else:
                work = args.out / "archives"
                work.mkdir(parents=True, exist_ok=True)
                cache: dict[str, Any] = {}
                names = QUICK_TASCODEC if args.quick else list(TASCODEC_ROWS)
                for name in names:
                    rows.append(run_tascodec(name, TASCODEC_ROWS[name], root, videos, xs, work,
                                             args, cache))
                    print(f"[{dname}] {name}: {rows[-1].get('error', 'done')}", file=sys.stderr)
        payload["datasets"][dname] = {"path": str(root), "videos": len(videos),
                                      "frames": int(sum(x.shape[1] for x in xs)), "dim": dim,
                                      "float32_bytes": f32, "rows": rows, "notes": notes}
        md += [f"## {dname}: {len(videos)} training videos, "
               f"{sum(x.shape[1] for x in xs)} frames, D = {dim}, float32 {format_bytes(f32)}",
               "", table(rows, f32), "", *notes]
        if not args.no_tascodec:
            md.append(f"tascodec rows: encode recipe {args.recipe!r}, gamma = 1 (every frame "
                      f"stored); encode s includes TCA training (shared by learned codecs, so "
                      f"the first learned row carries it).")
        md.append("")
    text = "\n".join(md)
    print(text)
    write_results(args.out, "peers", payload, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
