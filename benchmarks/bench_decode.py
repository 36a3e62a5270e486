"""Decode throughput: structured fast path vs plain forward vs np.load vs the write floor.

    python -m benchmarks.bench_decode [--quick] [--videos N] [--repeats R] [--threads N]
                                      [--c-scale X]

Two shapes, D = 2048, K = 8, a random TCA-shaped decoder (d = 256, H = 512):
GTEA-shaped (A = 11, ~1.1K frames, ~32 segments/video) and Breakfast-shaped (A = 48, ~2.1K
frames, ~7 segments of ~300 frames). Segment structures come from the real label files in
``../shared/data`` (gtea-tcn128, breakfast-gt) when present, else from a matching random draw.
Each figure is total frames / best-of-R total time over the videos (methods interleaved so
load from other processes hits them alike); ratios are against np.load and the plain forward.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

if "--threads" in sys.argv:  # BLAS reads these at import: set them before numpy loads
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

from tascodec.content import DecoderCheckpoint  # noqa: E402
from tascodec.decode import decode_reference, decode_segments, prepare_decoder  # noqa: E402
from tascodec.segments import (  # noqa: E402
    instance_lengths,
    labels_to_segments,
    num_instances,
    segment_coherence,
)

SHARED = ROOT.parent / "shared" / "data"
D, LATENT, HIDDEN, K = 2048, 256, 512, 8


def tca_decoder(rng: np.random.Generator, num_classes: int, c_scale: float = 1.0
                ) -> DecoderCheckpoint:
    """Random weights at PyTorch's default Linear init scale, de-normalisation like I3D stats.

    ``c_scale`` multiplies the c column of w1: more ReLU flips inside instances (a trained
    decoder leans on c more than a random one does).
    """
    width = LATENT + num_classes + 1
    u = lambda shape, fan: (rng.uniform(-1, 1, shape) / np.sqrt(fan)).astype(np.float32)  # noqa
    w1 = u((HIDDEN, width), width)
    w1[:, -1] *= c_scale
    return DecoderCheckpoint(
        arch={"name": "tca-mlp", "latent_dim": LATENT, "num_classes": num_classes,
              "hidden_dim": HIDDEN, "feature_dim": D, "activation": "relu"},
        tensors={"w1": w1, "b1": u(HIDDEN, width),
                 "w2": u((D, HIDDEN), HIDDEN), "b2": u(D, HIDDEN),
                 "feature_offset": rng.uniform(0, 0.5, D).astype(np.float32),
                 "feature_scale": rng.uniform(0.2, 1.0, D).astype(np.float32)},
    )


def real_segments(name: str, videos: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    gt = SHARED / name / "groundTruth"
    if not gt.is_dir():
        return None
    names = {ln.split()[1]: int(ln.split()[0])
             for ln in (SHARED / name / "mapping.txt").read_text().splitlines() if ln.strip()}
    out = []
    for path in sorted(gt.glob("*.txt"))[:: max(1, len(list(gt.glob("*.txt"))) // videos)]:
        labels = np.array([names[s] for s in path.read_text().split()])
        seg = labels_to_segments(labels)
        out.append((seg.action, seg.length))
        if len(out) == videos:
            break
    return out


def random_segments(rng, videos, segs, mean_len, num_classes):
    out = []
    for _ in range(videos):
        length = np.maximum(1, rng.exponential(mean_len, rng.poisson(segs) + 1)).astype(np.int64)
        out.append((rng.integers(0, num_classes, length.size), length))
    return out


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def torch_plain(torch, dec: DecoderCheckpoint):
    t = {k: torch.from_numpy(np.asarray(v)) for k, v in dec.tensors.items()}
    a = dec.arch["num_classes"]

    def run(codes, action, length, k_eff):
        from tascodec.segments import instance_lengths, segment_coherence

        with torch.no_grad():
            z = torch.repeat_interleave(torch.from_numpy(codes),
                                        torch.from_numpy(instance_lengths(length, k_eff)), 0)
            onehot = torch.nn.functional.one_hot(
                torch.from_numpy(np.repeat(action, length)), a).float()
            c = torch.from_numpy(segment_coherence(length))[:, None]
            h = torch.relu(torch.cat([z, onehot, c], 1) @ t["w1"].T + t["b1"])
            return ((h @ t["w2"].T + t["b2"]) * t["feature_scale"] + t["feature_offset"]).numpy()

    return run


def bench(shape: str, videos: list, dec: DecoderCheckpoint, repeats: int, tmp: Path) -> dict:
    rng = np.random.default_rng(1)
    prep = prepare_decoder(dec)
    items = []
    for action, length in videos:
        k_eff = num_instances(length, K)
        codes = rng.standard_normal((int(k_eff.sum()), LATENT)).astype(np.float32)
        items.append((codes, action, length, k_eff))
    frames = sum(int(it[2].sum()) for it in items)
    err, scale = 0.0, 0.0
    paths = []
    for i, it in enumerate(items):
        ref = decode_reference("mlp", *it, dec)
        fast = decode_segments("mlp", *it, prep)
        err, scale = max(err, float(np.abs(fast - ref).max())), max(scale, float(np.abs(ref).max()))
        paths.append(tmp / f"{shape}{i}.npy")
        np.save(paths[-1], np.ascontiguousarray(ref.T))  # the "original" (D, T) features
    srcs = [np.load(p) for p in paths]

    def fill():
        for it in items:
            np.empty((int(it[2].sum()), D), np.float32).fill(1.0)

    def copy():
        for s in srcs:
            s.copy()

    methods = {
        "structured (numpy)": lambda: [decode_segments("mlp", *it, prep) for it in items],
        "plain forward (numpy)": lambda: [decode_reference("mlp", *it, dec) for it in items],
        "np.load original .npy (page cache)": lambda: [np.load(p) for p in paths],
        "write floor: np.empty + fill": fill,
        "write floor: copy": copy,
    }
    try:
        import torch

        from tascodec.decode.torch import decode_segments_torch

        plain = torch_plain(torch, dec)
        methods["plain forward (torch cpu)"] = lambda: [plain(*it) for it in items]
        methods["structured (torch cpu)"] = lambda: [
            decode_segments_torch("mlp", *it, prep, device="cpu") for it in items]
        if torch.cuda.is_available():
            def cuda():
                for it in items:
                    decode_segments_torch("mlp", *it, prep, device="cuda")
                torch.cuda.synchronize()
            methods["structured (torch cuda)"] = cuda
    except ImportError:
        pass
    times = {k: [] for k in methods}
    for _ in range(repeats):
        for k, fn in methods.items():
            times[k].append(best(fn, 1))
    per = {k: frames / min(v) for k, v in times.items()}
    n_inst = sum(int(it[3].sum()) for it in items)
    lens = np.concatenate([instance_lengths(it[2], it[3]) for it in items])
    flips = 0
    for codes, action, length, k_eff in items:
        inst_len = instance_lengths(length, k_eff)
        first = np.concatenate(([0], np.cumsum(inst_len)[:-1]))
        c = segment_coherence(length)
        base = codes @ prep.wz_t + prep.wa_t[np.repeat(action, k_eff)]
        on = lambda t: (base + c[t][:, None] * prep.w_c) > 0  # noqa: E731
        flips += int((on(first) != on(first + inst_len - 1)).sum())
    gemm_rows = int(np.where(lens >= 3, 2, lens).sum())  # second-layer rows of the fast path
    return {"frames": frames, "videos": len(items), "instances": n_inst, "rows": gemm_rows,
            "flips": flips,
            "segments": sum(it[1].size for it in items), "fps": per, "rel_err": err / scale}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer videos and repeats")
    ap.add_argument("--videos", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS and torch threads (default: the libraries' own choice)")
    ap.add_argument("--c-scale", type=float, default=1.0,
                    help="scale of the decoder's c weights (more ReLU flips; default 1)")
    args = ap.parse_args()
    nv = args.videos or (4 if args.quick else 12)
    reps = args.repeats or (3 if args.quick else 7)
    rng = np.random.default_rng(0)
    shapes = {
        "GTEA-shaped": (11, real_segments("gtea-tcn128", nv)
                        or random_segments(rng, nv, 32, 34, 11)),
        "Breakfast-shaped": (48, real_segments("breakfast-gt", nv)
                             or random_segments(rng, nv, 7, 300, 48)),
    }
    try:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        tthreads = torch.get_num_threads()
    except ImportError:
        gpu, tthreads = "none (torch missing)", 0
    print(f"# decode benchmark: D={D}, d={LATENT}, H={HIDDEN}, K={K}, float32, "
          f"c-scale {args.c_scale:g}\n")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}, BLAS threads "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, torch threads {tthreads}, "
          f"GPU: {gpu}; numpy {np.__version__}; {nv} videos, best of {reps}\n")
    results = {}
    with tempfile.TemporaryDirectory(prefix="tascodec-bench-") as tmp:
        for shape, (a, videos) in shapes.items():
            results[shape] = bench(shape, videos, tca_decoder(rng, a, args.c_scale), reps,
                                   Path(tmp))
    names = list(next(iter(results.values()))["fps"])
    cols = list(results)
    print("| method | " + " | ".join(f"{c} frames/s" for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{results[c]['fps'].get(n, float('nan')):,.0f}"
                                       for c in cols) + " |")
    print()
    print("| ratio | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for label, num, den in [
        ("structured / np.load", "structured (numpy)", "np.load original .npy (page cache)"),
        ("structured / plain forward (numpy)", "structured (numpy)", "plain forward (numpy)"),
        ("structured / plain forward (torch cpu)", "structured (numpy)",
         "plain forward (torch cpu)"),
        ("structured / write floor (fill)", "structured (numpy)", "write floor: np.empty + fill"),
    ]:
        print(f"| {label} | " + " | ".join(
            f"{results[c]['fps'][num] / results[c]['fps'].get(den, float('nan')):.2f}x"
            for c in cols) + " |")
    print()
    for c, r in results.items():
        print(f"- {c}: {r['videos']} videos, {r['frames']} frames, {r['segments']} segments, "
              f"{r['instances']} instances ({r['frames'] / r['instances']:.1f} frames/instance, "
              f"{r['flips'] / r['instances']:.1f} ReLU flips/instance); "
              f"max |structured - plain| / max |x| = {r['rel_err']:.2e}; second-layer GEMM rows "
              f"{r['rows']} vs {r['frames']} for the plain forward (bound "
              f"{r['frames'] / r['rows']:.2f}x on that GEMM)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
