"""PNG figures from ``bench_fidelity.py``'s ``fidelity.json``.

    python -m benchmarks.plots [RESULTS.json ...] [--out DIR]

Several results files (runs split across processes) are merged per dataset: main rows by name,
ablation rows by group; the main ``inversion`` row (K = 8, gamma = 0.5) joins the sweeps as
their base point.

Per dataset: storage vs F1@50 for every row (log x, error bars = std over seeds; a marker and
colour per row, named in the legend rather than on the points; the original's F1@50 as a
dashed line); and, where the ablations ran, F1@50 / Acc / Edit over K and over gamma (the
original's scores as dotted lines).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METRICS = (("f1@50", "F1@50"), ("acc", "Acc"), ("edit", "Edit"))

#: one marker per row (cycled with the colours, so no two of the first 30 rows look alike)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "p", "*", "d", "8", "H")


def _ok(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if "fidelity" in r]


def _style(i: int) -> dict[str, Any]:
    """Row i's colour and marker: tab10 colours x the markers, distinct for 30 rows."""
    return {"color": f"C{i % 10}", "marker": MARKERS[i % len(MARKERS)]}


def dodge(xs: list[float], *, near: float = 1.05, step: float = 0.02) -> list[float]:
    """``xs`` (positive, for a log axis) with points closer than a factor ``near`` to their
    neighbour spread apart by ``step`` decades each, centred on their place, so markers of
    rows of (nearly) equal size do not hide each other."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    out = list(xs)
    group: list[int] = []
    for i in order + [-1]:
        if i >= 0 and group and xs[i] <= xs[group[-1]] * near:
            group.append(i)
            continue
        for k, j in enumerate(group):
            out[j] = xs[j] * 10 ** (step * (k - (len(group) - 1) / 2))
        group = [i]
    return out


def storage_plot(name: str, rows: list[dict[str, Any]], path: Path) -> None:
    """Storage (log) vs F1@50, a marker and colour per row named in the legend (no labels on
    the points, so none overlap), the original's F1@50 as a line with its std as a band."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    ok = _ok(rows)
    sizes = [r["fidelity"]["storage_bytes"] / 2**20 for r in ok]
    xs = dodge(sizes)
    for i, (r, x) in enumerate(zip(ok, xs)):
        f = r["fidelity"]
        y, e = f["mean"]["f1@50"], f["std"]["f1@50"]
        ax.errorbar([x], [y], yerr=[e], linestyle="none", capsize=3, markersize=7,
                    label=f"{r['row']} ({y:.1f})", **_style(i))
    orig = next((r["fidelity"] for r in ok if r["row"] == "original"), None)
    if orig is not None:
        y, e = orig["mean"]["f1@50"], orig["std"]["f1@50"]
        ax.axhline(y, color="k", linewidth=1, linestyle="--", label=f"original's F1@50 ({y:.1f})")
        ax.axhspan(y - e, y + e, color="k", alpha=0.07, linewidth=0)
    ax.set_xscale("log")
    nudged = "; equal sizes nudged apart" if xs != sizes else ""
    ax.set_xlabel(f"storage (MiB, log scale{nudged})")
    ax.set_ylabel("F1@50 on the original test set")
    ax.set_title(f"{name}: storage vs MS-TCN F1@50 (mean +- std over seeds)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def sweep_plot(name: str, rows: list[dict[str, Any]], xs: list[Any], xlabel: str,
               path: Path, *, log: bool = False, original: dict[str, Any] | None = None) -> None:
    """Acc / Edit / F1@50 over a sweep, a marker per metric; ``original`` (the uncompressed
    row's fidelity) adds each metric's score as a dotted line in its colour."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    pairs = [(x, r) for x, r in zip(xs, rows) if "fidelity" in r]
    if not pairs:
        plt.close(fig)
        return
    pos = list(range(len(pairs)))
    for i, (key, label) in enumerate(METRICS):
        ys = [r["fidelity"]["mean"][key] for _, r in pairs]
        es = [r["fidelity"]["std"][key] for _, r in pairs]
        style = _style(i)
        ax.errorbar(pos, ys, yerr=es, capsize=3, label=label, **style)
        if original is not None:
            ax.axhline(original["mean"][key], color=style["color"], linestyle=":",
                       linewidth=1.2, label=f"original {label} ({original['mean'][key]:.1f})")
    ax.set_xticks(pos, [str(x) for x, _ in pairs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score (%)")
    ax.set_title(f"{name}: {xlabel} sweep (inversion)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def merge(files: list[Path]) -> dict[str, Any]:
    """``{"datasets": ...}`` of several results files, merged as the module docstring says."""
    datasets: dict[str, Any] = {}
    for path in files:
        for name, entry in json.loads(path.read_text()).get("datasets", {}).items():
            into = datasets.setdefault(name, {"main": [], "ablations": {}})
            names = {r["row"] for r in into["main"]}
            into["main"] += [r for r in entry.get("main", []) if r["row"] not in names]
            for group, rows in entry.get("ablations", {}).items():
                into["ablations"].setdefault(group, []).extend(rows)
    base_points = {"k": ("K=8", 8), "gamma": ("gamma=0.5", 0.5)}
    for entry in datasets.values():
        base = next((r for r in entry["main"] if r["row"] == "inversion"), None)
        for group, rows in entry["ablations"].items():
            if base is not None and group in base_points:
                label, _ = base_points[group]
                if all(r["row"] != label for r in rows):
                    rows.append(dict(base, row=label))
            if group in base_points:
                rows.sort(key=lambda r: _sweep_value(r["row"]))
    return {"datasets": datasets}


def _sweep_value(row: str) -> float:
    value = row.split("=", 1)[-1]
    return float("inf") if value == "l" else float(value)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="*", type=Path,
                   default=[Path("benchmarks/results/fidelity/fidelity.json")])
    p.add_argument("--out", type=Path, default=None, help="default: beside the first results file")
    args = p.parse_args(argv)
    missing = [str(f) for f in args.results if not f.is_file()]
    if missing:
        print(f"{missing}: not found (run python -m benchmarks.bench_fidelity first)", file=sys.stderr)
        return 2
    data = merge(args.results)
    out = args.out or args.results[0].parent
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, entry in data.get("datasets", {}).items():
        slug = name.replace(":", "-").replace("/", "_")
        rows = list(entry.get("main", []))
        abl = entry.get("ablations", {})
        for group in ("quant", "sampling"):
            rows += [dict(r, row=f"{r['row']} ({group})") for r in abl.get(group, [])
                     if "shared_with" not in r]
        path = out / f"{slug}-storage-f1.png"
        storage_plot(name, rows, path)
        written.append(path)
        original = next((r["fidelity"] for r in _ok(entry.get("main", []))
                         if r["row"] == "original"), None)
        for group, xlabel in (("k", "K"), ("gamma", "gamma")):
            if abl.get(group):
                path = out / f"{slug}-{group}-sweep.png"
                sweep_plot(name, abl[group], [r["row"].split("=", 1)[-1] for r in abl[group]],
                           xlabel, path, original=original)
                written.append(path)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
