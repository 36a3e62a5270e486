"""Rate-fidelity curves: how much of the original's Acc, Edit and F1@50 a training set keeps
at each storage ratio, on every real fold (a segmentation model trained on it, scored on the
ORIGINAL test split), at the paper's protocol by default: MS-TCN, 50 epochs, 3 seeds, the six
real folds (four GTEA, two 50Salads).

    python -m benchmarks.bench_rate [--folds gtea-tcn128,...] [--ratios 50,100,300,600]
        [--rows original,inversion@50,pca,mean] [--seeds 0,1,2] [--epochs 50]
        [--backbones mstcn,asformer] [--gammas 1,0.5] [--out DIR] [--jobs N]

Rows: ``inversion``, ``mean+inversion`` and ``pca`` at each ``--ratios`` value
(``encode(codec=..., target_ratio=R)``: rate control picks the operating point; ``pca``: the
components and the stride), ``default`` (``encode`` with no codec named: what a user gets),
``mean``, ``coreset`` and ``raw-f16`` at their own sizes, and the paper's three Table 1 points
(MS-TCN "Ours": kept fractions and ratios of its GTEA, 50Salads and Breakfast rows) for
reference. A ratio row named ``pca@300`` runs at that ratio only, ``pca@100:stride=2`` with
that codec parameter fixed (``+`` joins several) and the other chosen by rate control. ``--gammas``: the ratio rows again with that fraction of the split's videos stored
(diverse sequence sampling), one more axis of the curve. Ratio = float32 bytes of the fold's
training split over the archive's bytes. Writes ``rate.json`` / ``rate.md`` (and ``rate.png``
with ``[bench]`` installed) under ``--out``, after every fold.
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

FOLDS = ["gtea-tcn128", "gtea-tcn128-split2", "gtea-tcn128-split3", "gtea-tcn128-split4",
         "salads-tcn128-split2", "salads-tcn128-split3"]
RATIOS = [50.0, 100.0, 300.0, 600.0]
ROWS = ["original", "default", "inversion", "mean+inversion", "pca", "mean", "coreset",
        "raw-f16"]
DEFAULT_ROWS = ["original", "default", "inversion", "pca", "mean"]
#: rows encoded at each --ratios value (codec id: the row name)
RATIO_ROWS = ("default", "inversion", "mean+inversion", "pca")
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


def _kept(row: dict[str, Any], original: dict[str, Any]) -> dict[str, float]:
    """Each metric's mean over the row's seeds as a fraction of the original's over the same
    seeds (its mean over all of its seeds when a record lacks them; merged runs pool seeds)."""
    base = _same_seeds(original, row.get("seeds"))
    return {m: row["mean"][m] / base[m] if base[m] else float("nan") for m in KEPT}


def _same_seeds(original: dict[str, Any], seeds: list[int] | None) -> dict[str, float]:
    """The original's mean scores over ``seeds`` where it has each of them, else its mean."""
    by_seed = dict(zip(original.get("seeds") or [], original.get("per_seed") or []))
    if not seeds or not all(s in by_seed for s in seeds):
        return original["mean"]
    return {m: float(np.mean([by_seed[s][m] for s in seeds])) for m in by_seed[seeds[0]]}


#: the metric convention that is not the harness's default (``tascodec.harness.metrics``)
OTHER_CONVENTION = "mstcn"


def _kept_other(row: dict[str, Any], original: dict[str, Any] | None) -> dict[str, float]:
    """``_kept`` under ``OTHER_CONVENTION`` (NaN where a record predates ``by_convention``)."""
    mine = (row.get("by_convention") or {}).get(OTHER_CONVENTION)
    theirs = ((original or {}).get("by_convention") or {}).get(OTHER_CONVENTION)
    if mine is None or theirs is None:
        return {m: float("nan") for m in KEPT}
    return _kept(mine, theirs)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folds", default=",".join(FOLDS))
    p.add_argument("--ratios", default=",".join(str(int(r)) for r in RATIOS))
    p.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--backbones", default="mstcn", help="mstcn, asformer (comma-separated)")
    p.add_argument("--gammas", default="1", help="fractions of the split's videos stored")
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--recipe", default="cpu")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/rate"))
    p.add_argument("--progress", action="store_true")
    p.add_argument("--replot", type=Path, default=None, metavar="RATE_JSON",
                   help="only redraw rate.png (under --out) from a rate.json of an earlier run")
    p.add_argument("--merge", type=Path, nargs="+", default=None, metavar="RATE_JSON",
                   help="only merge the rate.json of earlier runs with other seeds (or other "
                        "rows, the original's among them) into one table under --out")
    args = p.parse_args(argv)
    args.fold_list = parse_list(args.folds)
    args.ratio_list = parse_list(args.ratios, float)
    args.row_list = parse_list(args.rows)
    unknown = sorted({r.split("@")[0] for r in args.row_list} - set(ROWS))
    if unknown:
        p.error(f"--rows: unknown {unknown}; choose from {ROWS}")
    args.seed_list = tuple(parse_list(args.seeds, int))
    args.backbone_list = parse_list(args.backbones)
    args.gamma_list = parse_list(args.gammas, float)
    args.keep_archives = False
    if args.jobs is None:
        args.jobs = max(1, machine()["cores_usable"] or 1)
    return args


def _rows(args: argparse.Namespace) -> list[tuple[str, dict[str, Any] | None]]:
    rows: list[tuple[str, dict[str, Any] | None]] = []
    for name in args.row_list:
        if name == "original":
            rows.append((name, None))
        elif name.split("@")[0] in RATIO_ROWS:  # "pca" at every --ratios, "pca@300" at one
            family, _, pinned = name.partition("@")
            pinned, _, fixed = pinned.partition(":")  # "pca@100:stride=2": a codec parameter
            codec = {} if family == "default" else {"codec": family}
            extra = {k: int(v) if v.isdigit() else v
                     for k, v in (kv.split("=") for kv in fixed.split("+") if kv)}
            ratios = [float(pinned.rstrip("x"))] if pinned else args.ratio_list
            rows += [(f"{family}@{r:g}x" + (f":{fixed}" if fixed else "")
                      + ("" if g == 1 else f"/gamma{g:g}"),
                      {**codec, "target_ratio": r, **extra, **({} if g == 1 else {"gamma": g})})
                     for g in args.gamma_list for r in ratios]
        elif name in FIXED_ROWS:
            rows.append((name, FIXED_ROWS[name]))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.merge is not None:
        payload = merge_runs([json.loads(p.read_text()) for p in args.merge],
                             [str(p) for p in args.merge])
        args.seed_list = tuple(payload["config"]["seeds"])
        args.epochs = payload["config"]["epochs"]
        args.backbone_list = payload["config"]["backbones"]
        text = report(payload["results"], args)
        print(text)
        write_results(args.out, "rate", payload, text)
        return 0
    if args.replot is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        plot(json.loads(args.replot.read_text())["results"], args.out / "rate.png")
        return 0
    started = time.perf_counter()
    work = args.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    from tascodec.harness.items import worker_pool

    pool = worker_pool(args.jobs) if args.jobs > 1 else _Inline()
    results: dict[str, dict[str, Any]] = {}
    try:
        handles = []
        for fold in args.fold_list:
            root = resolve_dataset(fold, args.out / "data")
            runner = Runner(fold, root, args, work, pool)
            handles.append((fold, runner, [(n, runner.submit(n, params))
                                           for n, params in _rows(args)]))
        for fold, runner, subs in handles:
            results[fold] = {name: runner.collect(handle) for name, handle in subs}
            write_results(args.out, "rate", _payload(results, args, started), report(results, args))
    finally:
        pool.shutdown()
    text = report(results, args)
    print(text)
    write_results(args.out, "rate", _payload(results, args, started), text)
    plot(results, args.out / "rate.png")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _payload(results: dict[str, dict[str, Any]], args: argparse.Namespace, started: float
             ) -> dict[str, Any]:
    return {"machine": machine(),
            "config": {"epochs": args.epochs, "seeds": list(args.seed_list),
                       "ratios": args.ratio_list, "folds": args.fold_list,
                       "backbones": args.backbone_list, "gammas": args.gamma_list},
            "results": results, "paper": PAPER_POINTS, "seconds": time.perf_counter() - started}


def merge_runs(runs: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """One ``rate.json`` payload from several runs' (the same epochs): per fold, row and
    backbone, the seeds of every run that has it, their per-seed scores pooled (mean and sample
    std again; ``by_convention`` kept where every part has it) and the ratio's mean. A seed
    given twice for one row is an error naming both files."""
    epochs = {r["config"]["epochs"] for r in runs}
    if len(epochs) != 1:
        raise SystemExit(f"--merge: runs of different epochs {sorted(epochs)}: {names}")
    parts: dict[tuple[str, str, str], list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
    for name, run in zip(names, runs):
        for fold, rows in run["results"].items():
            for row, rec in rows.items():
                for backbone, fid in _fidelities(rec).items():
                    parts.setdefault((fold, row, backbone), []).append((name, rec, fid))
    results: dict[str, dict[str, Any]] = {}
    for (fold, row, backbone), got in parts.items():
        seeds = [s for _, _, fid in got for s in fid["seeds"]]
        if len(set(seeds)) != len(seeds):
            raise SystemExit(f"--merge: {fold} {row} {backbone}: a seed repeats in "
                             f"{[n for n, _, _ in got]} (seeds {seeds})")
        per_seed = [s for _, _, fid in got for s in fid["per_seed"]]
        fid = {**got[0][2], "seeds": seeds, "per_seed": per_seed,
               "compression": float(np.mean([f["compression"] for _, _, f in got])),
               **_pooled(per_seed)}
        conventions = set.intersection(*(set(f.get("by_convention") or {}) for _, _, f in got))
        fid["by_convention"] = {c: {"per_seed": ps, **_pooled(ps)} for c in sorted(conventions)
                                for ps in [[s for _, _, f in got
                                            for s in f["by_convention"][c]["per_seed"]]]}
        rec = results.setdefault(fold, {}).setdefault(row, {**got[0][1], "by_backbone": {}})
        rec.pop("fidelity", None)
        rec["by_backbone"][backbone] = fid
    seeds = sorted({s for rows in results.values() for rec in rows.values()
                    for fid in rec["by_backbone"].values() for s in fid["seeds"]})
    backbones = sorted({b for rows in results.values() for rec in rows.values()
                        for b in rec["by_backbone"]})
    return {"machine": machine(), "merged": names,
            "config": {"epochs": epochs.pop(), "seeds": seeds, "backbones": backbones,
                       "folds": list(results)},
            "results": results, "paper": PAPER_POINTS}


def _pooled(per_seed: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """``{"mean", "std"}`` of per-seed scores (sample std, 0 for one seed)."""
    keys = per_seed[0].keys()
    values = {k: np.array([s[k] for s in per_seed], dtype=np.float64) for k in keys}
    return {"mean": {k: float(v.mean()) for k, v in values.items()},
            "std": {k: float(v.std(ddof=1)) if v.size > 1 else 0.0 for k, v in values.items()}}


def _fidelities(rec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A row record's results by backbone (older records: the one ``fidelity``)."""
    if "by_backbone" in rec:
        return rec["by_backbone"]
    return {"mstcn": rec["fidelity"]} if "fidelity" in rec else {}


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    """Per backbone: a table per fold (scores ± seed std, kept %), then each row's mean and
    worst fold of the kept fractions (folds where the row ran)."""
    md = [f"# Rate-fidelity ({args.epochs} epochs, seeds {list(args.seed_list)})", "",
          machine_line(), ""]
    for backbone in args.backbone_list:
        summary: dict[str, list[tuple[float, dict[str, float], dict[str, float]]]] = {}
        for fold, rows in results.items():
            orig = _fidelities(rows.get("original", {})).get(backbone)
            table = []
            for name, rec in rows.items():
                fid = _fidelities(rec).get(backbone)
                if fid is None:
                    table.append([name, "-", "-", "-", "-", "-", rec.get("error", "")[:80]])
                    continue
                kept = _kept(fid, orig) if orig else {m: float("nan") for m in KEPT}
                summary.setdefault(name, []).append((fid["compression"], kept,
                                                     _kept_other(fid, orig)))
                config = (rec.get("encode") or {}).get("codec_config") or {}
                what = ", ".join(f"{k}={v}" for k, v in config.items()
                                 if k in ("id", "components", "stride", "latent_dim",
                                          "hidden_dim"))
                table.append([name, f"{fid['compression']:.1f}x",
                              *(f"{fid['mean'][m]:.1f} ± {fid['std'][m]:.1f}" for m in KEPT),
                              " / ".join(f"{100 * kept[m]:.0f}%" for m in KEPT), what])
            md += [f"## {backbone}: {fold}", "", markdown_table(
                ["training set", "ratio", "Acc", "Edit", "F1@50", "kept Acc / Edit / F1@50",
                 "archive"], table), ""]
        mean_rows = []
        for name, points in summary.items():
            if name == "original":
                continue
            mean = {m: float(np.mean([k[m] for _, k, _ in points])) for m in KEPT}
            worst = {m: float(np.min([k[m] for _, k, _ in points])) for m in KEPT}
            other = [o for _, _, o in points]
            mean_o = {m: float(np.mean([o[m] for o in other])) for m in KEPT}
            worst_o = {m: float(np.min([o[m] for o in other])) for m in KEPT}
            mean_rows.append([name, f"{np.mean([r for r, _, _ in points]):.1f}x",
                              f"{np.min([r for r, _, _ in points]):.1f}x", str(len(points)),
                              " / ".join(f"{100 * mean[m]:.1f}%" for m in KEPT),
                              " / ".join(f"{100 * worst[m]:.1f}%" for m in KEPT),
                              " / ".join(f"{100 * mean_o[m]:.1f}%" for m in KEPT),
                              " / ".join(f"{100 * worst_o[m]:.1f}%" for m in KEPT)])
        if backbone == "mstcn":
            for name, (ratio, *kept) in PAPER_POINTS.items():
                mean_rows.append([f"paper Table 1, {name} (Ours)", f"{ratio:.0f}x", "-", "-",
                                  " / ".join(f"{100 * k:.1f}%" for k in kept), "-", "-", "-"])
        md += [f"## {backbone}: over folds", "", markdown_table(
            ["training set", "mean ratio", "least ratio", "folds",
             "mean kept Acc / Edit / F1@50", "worst fold kept Acc / Edit / F1@50",
             f"{OTHER_CONVENTION} ends: mean kept", f"{OTHER_CONVENTION} ends: worst fold"],
            mean_rows), ""]
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
                    continue  # the plot shows the first backbone
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
