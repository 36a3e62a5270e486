"""PNG figures from ``bench_fidelity.py``'s ``fidelity.json``.

    python -m benchmarks.plots [RESULTS.json ...] [--out DIR]

Several results files (runs split across processes) are merged per dataset: main rows by name,
ablation rows by group; the main ``inversion`` row (K = 8, gamma = 0.5) joins the sweeps as
their base point.

Per dataset: storage vs F1@50 for every row (log x, error bars = std over seeds); and, where
the ablations ran, F1@50 / Acc / Edit over K and over gamma.
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


def _ok(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if "fidelity" in r]


def storage_plot(name: str, rows: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in _ok(rows):
        f = r["fidelity"]
        x, y, e = f["storage_bytes"] / 2**20, f["mean"]["f1@50"], f["std"]["f1@50"]
        ax.errorbar([x], [y], yerr=[e], fmt="o", capsize=3, label=r["row"])
        ax.annotate(r["row"], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("storage (MiB, log scale)")
    ax.set_ylabel("F1@50 on the original test set")
    ax.set_title(f"{name}: storage vs MS-TCN F1@50")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def sweep_plot(name: str, rows: list[dict[str, Any]], xs: list[Any], xlabel: str,
               path: Path, *, log: bool = False) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    pairs = [(x, r) for x, r in zip(xs, rows) if "fidelity" in r]
    if not pairs:
        plt.close(fig)
        return
    pos = list(range(len(pairs)))
    for key, label in METRICS:
        ys = [r["fidelity"]["mean"][key] for _, r in pairs]
        es = [r["fidelity"]["std"][key] for _, r in pairs]
        ax.errorbar(pos, ys, yerr=es, marker="o", capsize=3, label=label)
    ax.set_xticks(pos, [str(x) for x, _ in pairs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score (%)")
    ax.set_title(f"{name}: {xlabel} sweep (inversion)")
    ax.legend()
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
        if abl.get("k"):
            path = out / f"{slug}-k-sweep.png"
            sweep_plot(name, abl["k"], [r["row"].split("=", 1)[-1] for r in abl["k"]], "K", path)
            written.append(path)
        if abl.get("gamma"):
            path = out / f"{slug}-gamma-sweep.png"
            sweep_plot(name, abl["gamma"], [r["row"].split("=", 1)[-1] for r in abl["gamma"]],
                       "gamma", path)
            written.append(path)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
