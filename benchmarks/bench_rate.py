"""Rate-fidelity curves: how much of the original's Acc, Edit and F1@50 a training set keeps
at each storage ratio, on every GTEA fold (MS-TCN trained on it, scored on the ORIGINAL test
split).

    python -m benchmarks.bench_rate [--folds gtea-tcn128,...] [--ratios 25,50,100,200]
        [--rows original,inversion,mean+inversion,mean,coreset,raw-f16,pca] [--seeds 0,1,2]
        [--epochs 20]
        [--out DIR] [--jobs N]

Rows: ``inversion`` and ``mean+inversion`` at each ``--ratios`` value (``encode(k="auto",
target_ratio=R)``: rate control picks d, H and K per segment), ``mean``, ``coreset`` and ``raw-f16`` at their own
sizes, ``pca`` (every frame projected on the top ``D/16`` principal directions of the training
frames, float16 coefficients plus the basis, reconstructed; not an archive codec: its training
set is written as a dataset folder) and the paper's three Table 1 points (MS-TCN "Ours": kept
fractions and ratios of its GTEA, 50Salads and Breakfast rows) for reference. Ratio = float32
bytes of the fold's training split over the stored bytes. Writes ``rate.json`` / ``rate.md``
(and ``rate.png`` with ``[bench]`` installed) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._common import machine, machine_line, markdown_table, parse_list, resolve_dataset, write_results
from .bench_fidelity import Runner, _Inline

FOLDS = ["gtea-tcn128", "gtea-tcn128-split2", "gtea-tcn128-split3", "gtea-tcn128-split4"]
RATIOS = [25.0, 50.0, 100.0, 200.0]
ROWS = ["original", "inversion", "mean+inversion", "mean", "coreset", "raw-f16", "pca"]
FIXED_ROWS: dict[str, dict[str, Any]] = {
    "mean": {"codec": "mean", "gamma": 1.0},
    "coreset": {"codec": "coreset", "gamma": 1.0},
    "raw-f16": {"codec": "raw", "code_dtype": "float16", "gamma": 1.0},
}
# The paper's Table 1, MS-TCN, "Ours" against "Original": (ratio, Acc, Edit, F1@50 kept).
PAPER_POINTS = {
    "GTEA": (245 / 3.6, 75.2 / 79.0, 71.9 / 76.3, 62.7 / 69.8),
    "50Salads": (4500 / 3.9, 74.4 / 80.6, 59.5 / 63.1, 50.2 / 59.0),
    "Breakfast": (28000 / 44, 55.5 / 67.2, 45.6 / 60.6, 28.7 / 36.8),
}
KEPT = ("acc", "edit", "f1@50")


def pca_dataset(root: Path, out: Path, dims: int) -> tuple[Path, int]:
    """A copy of ``root`` whose split-1 training features are PCA reconstructions with ``dims``
    float16 coefficients per frame; (folder, stored bytes: coefficients + basis + mean)."""
    from tascodec.layout import StandardDataset

    ds = StandardDataset(root)
    train = ds.split("train.split1")
    frames = np.concatenate([np.asarray(ds.features(v)).T for v in train]).astype(np.float64)
    mean = frames.mean(0)
    _, _, vt = np.linalg.svd(frames - mean, full_matrices=False)
    basis = vt[:dims].astype(np.float16).astype(np.float64)  # (p, D), stored as float16
    if out.exists():
        shutil.rmtree(out)
    (out / "features").mkdir(parents=True)
    for name in ("groundTruth", "splits", "mapping.txt"):
        os.symlink((root / name).resolve(), out / name)
    for video in ds.videos:
        src = root / "features" / f"{video}.npy"
        if video not in train:
            os.symlink(src.resolve(), out / "features" / f"{video}.npy")
            continue
        x = np.asarray(ds.features(video)).T.astype(np.float64)  # (T, D)
        coef = ((x - mean) @ basis.T).astype(np.float16).astype(np.float64)
        np.save(out / "features" / f"{video}.npy", (coef @ basis + mean).T.astype(np.float32))
    stored = frames.shape[0] * dims * 2 + basis.size * 2 + mean.size * 4
    return out, int(stored)


def _kept(row: dict[str, Any], original: dict[str, Any]) -> dict[str, float]:
    return {m: row["mean"][m] / original["mean"][m] if original["mean"][m] else float("nan")
            for m in KEPT}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folds", default=",".join(FOLDS))
    p.add_argument("--ratios", default=",".join(str(int(r)) for r in RATIOS))
    p.add_argument("--rows", default=",".join(ROWS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--recipe", default="cpu")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/rate"))
    p.add_argument("--progress", action="store_true")
    p.add_argument("--replot", type=Path, default=None, metavar="RATE_JSON",
                   help="only redraw rate.png (under --out) from a rate.json of an earlier run")
    args = p.parse_args(argv)
    args.fold_list = parse_list(args.folds)
    args.ratio_list = parse_list(args.ratios, float)
    args.row_list = parse_list(args.rows)
    unknown = sorted(set(args.row_list) - set(ROWS))
    if unknown:
        p.error(f"--rows: unknown {unknown}; choose from {ROWS}")
    args.seed_list = tuple(parse_list(args.seeds, int))
    args.backbone_list = ["mstcn"]
    args.keep_archives = False
    if args.jobs is None:
        args.jobs = max(1, machine()["cores_usable"] or 1)
    return args


def _rows(args: argparse.Namespace) -> list[tuple[str, dict[str, Any] | None]]:
    rows: list[tuple[str, dict[str, Any] | None]] = []
    for name in args.row_list:
        if name == "original":
            rows.append((name, None))
        elif name in ("inversion", "mean+inversion"):
            rows += [(f"{name}@{r:g}x", {"codec": name, "target_ratio": r})
                     for r in args.ratio_list]
        elif name in FIXED_ROWS:
            rows.append((name, FIXED_ROWS[name]))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replot is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        plot(json.loads(args.replot.read_text())["results"], args.out / "rate.png")
        return 0
    started = time.perf_counter()
    work = args.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    from tascodec.evaluate import worker_pool

    pool = worker_pool(args.jobs) if args.jobs > 1 else _Inline()
    results: dict[str, dict[str, Any]] = {}
    try:
        handles = []
        for fold in args.fold_list:
            root = resolve_dataset(fold, args.out / "data")
            runner = Runner(fold, root, args, work, pool)
            handles.append((fold, runner, [(n, runner.submit(n, params))
                                           for n, params in _rows(args)]))
            if "pca" in args.row_list:
                dim = int(np.load(next((root / "features").glob("*.npy")), mmap_mode="r").shape[0])
                folder, stored = pca_dataset(root, work / f"{fold}-pca", max(1, dim // 16))
                pca_runner = Runner(fold + "-pca", folder, args, work, pool)
                handles[-1][2].append(("pca", pca_runner.submit("pca", None), stored, pca_runner))
        for fold, runner, subs in handles:
            rows = {}
            for item in subs:
                name, handle = item[0], item[1]
                rec = (item[3] if len(item) > 3 else runner).collect(handle)
                if "fidelity" in rec and len(item) > 2:  # pca: storage is the coefficients
                    fid = rec["fidelity"]
                    fid["storage_bytes"] = item[2]
                    fid["compression"] = fid["original_bytes"] / item[2]
                rows[name] = rec
            results[fold] = rows
    finally:
        pool.shutdown()
    text = report(results, args)
    print(text)
    payload = {"machine": machine(), "config": {"epochs": args.epochs, "seeds": list(args.seed_list),
                                                "ratios": args.ratio_list, "folds": args.fold_list},
               "results": results, "paper": PAPER_POINTS,
               "seconds": time.perf_counter() - started}
    write_results(args.out, "rate", payload, text)
    plot(results, args.out / "rate.png")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    md = [f"# Rate-fidelity (MS-TCN, {args.epochs} epochs, seeds {list(args.seed_list)})", "",
          machine_line(), ""]
    summary: dict[str, list[tuple[float, dict[str, float]]]] = {}
    for fold, rows in results.items():
        orig = rows.get("original", {}).get("fidelity")
        table = []
        for name, rec in rows.items():
            if "error" in rec or "fidelity" not in rec:
                table.append([name, "-", "-", "-", "-", rec.get("error", "")[:60]])
                continue
            fid = rec["fidelity"]
            kept = _kept(fid, orig) if orig else {m: float("nan") for m in KEPT}
            summary.setdefault(name, []).append((fid["compression"], kept))
            table.append([name, f"{fid['compression']:.1f}x",
                          *(f"{fid['mean'][m]:.1f} ± {fid['std'][m]:.1f}" for m in KEPT),
                          " / ".join(f"{100 * kept[m]:.0f}%" for m in KEPT)])
        md += [f"## {fold}", "", markdown_table(
            ["training set", "ratio", "Acc", "Edit", "F1@50", "kept Acc / Edit / F1@50"], table), ""]
    mean_rows = []
    for name, points in summary.items():
        kept = {m: float(np.mean([k[m] for _, k in points])) for m in KEPT}
        mean_rows.append([name, f"{np.mean([r for r, _ in points]):.1f}x", str(len(points)),
                          *(f"{100 * kept[m]:.1f}%" for m in KEPT)])
    for name, (ratio, *kept) in PAPER_POINTS.items():
        mean_rows.append([f"paper Table 1, {name} (Ours)", f"{ratio:.0f}x", "-",
                          *(f"{100 * k:.1f}%" for k in kept)])
    md += ["## Mean over folds", "", markdown_table(
        ["training set", "ratio", "folds", "Acc kept", "Edit kept", "F1@50 kept"], mean_rows), ""]
    return "\n".join(md)


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib missing (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    markers = {"inversion": "o", "mean": "s", "coreset": "D", "raw-f16": "^", "pca": "v"}
    # faint markers: each fold's point; solid: the mean of the folds (one per method)
    for ax, metric in zip(axes, KEPT):
        series: dict[str, list[tuple[float, float]]] = {}
        for rows in results.values():
            orig = rows.get("original", {}).get("fidelity")
            if not orig:
                continue
            for name, rec in rows.items():
                if "fidelity" not in rec or name == "original":
                    continue
                family = name.split("@")[0]
                series.setdefault(family, []).append(
                    (name, rec["fidelity"]["compression"], _kept(rec["fidelity"], orig)[metric]))
        for i, (family, pts) in enumerate(sorted(series.items())):
            color, marker = f"C{i}", markers.get(family, "x")
            ax.scatter([p[1] for p in pts], [100 * p[2] for p in pts], marker=marker,
                       color=color, alpha=0.3, s=18)  # one point per fold
            by_row: dict[str, list[tuple[float, float]]] = {}
            for name, ratio, kept in pts:
                by_row.setdefault(name, []).append((ratio, kept))
            means = sorted((float(np.mean([r for r, _ in v])), float(np.mean([k for _, k in v])))
                           for v in by_row.values())
            ax.plot([m[0] for m in means], [100 * m[1] for m in means], marker=marker,
                    color=color, linestyle="-" if len(means) > 1 else "none",
                    label=f"{family} (mean of folds)")
        for i, (name, (ratio, *kept)) in enumerate(PAPER_POINTS.items()):
            ax.plot([ratio], [100 * kept[KEPT.index(metric)]], ("*", "P", "X")[i % 3],
                    markersize=10, color=f"C{6 + i}", linestyle="none",
                    label=f"paper Table 1, {name}")
        ax.axhline(100, color="k", linewidth=1, linestyle="--",
                   label="original (uncompressed) = 100%")
        ax.set_xscale("log")
        ax.set_xlabel("storage ratio vs float32 training split")
        ax.set_title(f"{metric} kept (% of original)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("% of the original's score")
    handles, labels = axes[0].get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], marker="o", color="0.4", alpha=0.3, linestyle="none"))
    labels.append("faint markers: each fold")
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
