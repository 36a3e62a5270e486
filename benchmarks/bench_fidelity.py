"""Downstream fidelity (the paper's Table 1 for your data): MS-TCN trained on each decoded
training set, scored on the ORIGINAL test set.

    python benchmarks/bench_fidelity.py [--quick] [--epochs N] [--seeds 0,1,2]
        [--datasets gtea-tcn128,synth:gtea:2048] [--out DIR] [--no-ablations]

Rows: original + raw-f16, mean, coreset, tca-random, encoded, inversion, encoded-per-frame,
inversion-per-frame (settings of the paper's supplement, Table A); columns Acc, Edit,
F1@{10,25,50} (mean +- sample std over seeds), storage bytes and ratio to float32. Ablations
(on the first dataset): K sweep, gamma sweep, diverse vs random sampling, quantised codes.
Learned codecs share one trained TCA per dataset (``encode(cache=...)``). The MS-TCN epoch
count is reported with the figures (the paper trains 50 epochs; CPU budgets use fewer).
Writes ``fidelity.json`` and ``fidelity.md`` under ``--out``; ``plots.py`` draws them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    call_supported,
    human_bytes,
    machine,
    machine_line,
    markdown_table,
    parse_list,
    resolve_dataset,
    write_results,
)

# name -> encode() keywords (None: the original features). Supplement Table A settings.
MAIN_ROWS: dict[str, dict[str, Any] | None] = {
    "original": None,
    "raw-f16": {"codec": "raw", "code_dtype": "float16", "gamma": 1.0},
    "mean": {"codec": "mean", "k": 1, "gamma": 1.0},
    "coreset": {"codec": "coreset", "k": 1, "gamma": 1.0},
    "tca-random": {"codec": "tca-random", "k": 1, "gamma": 1.0},
    "encoded": {"codec": "encoded", "k": 8, "gamma": 0.5},
    "inversion": {"codec": "inversion", "k": 8, "gamma": 0.5},
    "encoded-per-frame": {"codec": "encoded", "k": None, "gamma": 1.0},
    "inversion-per-frame": {"codec": "inversion", "k": None, "gamma": 1.0},
}
QUICK_ROWS = ["original", "mean", "encoded", "inversion"]
K_SWEEP: list[int | None] = [1, 2, 4, 8, 16, None]
GAMMA_SWEEP = [0.1, 0.3, 0.5, 0.7, 1.0]
CODE_DTYPES = ["float32", "float16", "int8"]
METRICS = ("acc", "edit", "f1@10", "f1@25", "f1@50")


def ablation_rows() -> list[tuple[str, str, dict[str, Any]]]:
    """(group, row name, encode keywords) of the ablations; inversion, K = 8, gamma = 0.5 base."""
    rows = []
    for k in K_SWEEP:
        rows.append(("k", f"K={'l' if k is None else k}", {"codec": "inversion", "k": k, "gamma": 0.5}))
    for g in GAMMA_SWEEP:
        rows.append(("gamma", f"gamma={g}", {"codec": "inversion", "k": 8, "gamma": g}))
    for s in ("diverse", "random"):
        rows.append(("sampling", s, {"codec": "inversion", "k": 8, "gamma": 0.5, "sampling": s}))
    for dt in CODE_DTYPES:
        rows.append(("quant", dt, {"codec": "inversion", "k": 8, "gamma": 0.5, "code_dtype": dt}))
    return rows


def _key(params: dict[str, Any] | None) -> str:
    if params is None:
        return "original"
    full = {"sampling": "diverse", "code_dtype": "float32"} | params
    return json.dumps(full, sort_keys=True)


def _fmt(fid: dict[str, Any], key: str) -> str:
    return f"{fid['mean'][key]:.1f} ± {fid['std'][key]:.1f}"


class Runner:
    """Encodes and evaluates rows of one dataset, reusing results of identical settings."""

    def __init__(self, name: str, root: Path, args: argparse.Namespace, work: Path) -> None:
        self.name, self.root, self.args, self.work = name, root, args, work
        self.cache: dict[str, Any] = {}  # shared TCA between learned codecs
        self.done: dict[str, dict[str, Any]] = {}
        self.encode_fn = None
        try:
            from tascodec.encoding import encode

            self.encode_fn = encode
        except ImportError as exc:
            print(f"note: tascodec.encode unavailable ({exc}); only the original row runs",
                  file=sys.stderr)

    def run(self, row: str, params: dict[str, Any] | None) -> dict[str, Any]:
        from tascodec.evaluate import evaluate_archive

        key = _key(params)
        if key in self.done:
            return self.done[key] | {"row": row, "shared_with": self.done[key]["row"]}
        rec: dict[str, Any] = {"row": row, "params": params}
        t0 = time.perf_counter()
        archive = None
        try:
            if params is not None:
                if self.encode_fn is None:
                    raise RuntimeError("tascodec.encode is not available")
                archive = self.work / f"{self.name}-{len(self.done)}.tasz"
                summary, dropped = call_supported(
                    self.encode_fn, self.root, archive, split="train.split1",
                    device=self.args.device, recipe=self.args.recipe, seed=0,
                    overwrite=True, progress=self.args.progress, cache=self.cache, **params,
                )
                rec["encode"] = {
                    "bytes": dict(summary.bytes), "seconds": dict(summary.seconds),
                    "videos": summary.videos, "source_videos": summary.source_videos,
                    "reconstruction_mse": summary.reconstruction_mse,
                    "codec_config": summary.codec_config, "dropped_arguments": dropped,
                }
            fid = evaluate_archive(
                archive, self.root, split="split1", seeds=self.args.seed_list,
                epochs=self.args.epochs, device=self.args.device, progress=self.args.progress,
                name=row,
            )
            rec["fidelity"] = fid.to_dict()
        except Exception as exc:  # a codec that fails is a row with its error, not a crash
            rec["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            if archive is not None and archive.exists() and not self.args.keep_archives:
                archive.unlink()
        rec["seconds"] = time.perf_counter() - t0
        status = rec.get("error") or (
            f"F1@50 {rec['fidelity']['mean']['f1@50']:.1f}, "
            f"{human_bytes(rec['fidelity']['storage_bytes'])}"
        )
        print(f"[{self.name}] {row}: {status} ({rec['seconds']:.0f} s)", file=sys.stderr)
        self.done[key] = rec
        return rec


def main_table(rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        if "error" in r:
            out.append([r["row"], *(["-"] * 5), "-", "-", "-", r["error"][:80]])
            continue
        f = r["fidelity"]
        enc = r.get("encode", {}).get("seconds", {}).get("total")
        out.append([
            r["row"], *(_fmt(f, m) for m in METRICS), human_bytes(f["storage_bytes"]),
            f"{100 * f['ratio']:.2f}% ({f['compression']:.1f}x)",
            "-" if enc is None else f"{enc:.1f}", f"{f['train_videos']} videos",
        ])
    return markdown_table(
        ["training set", "Acc", "Edit", "F1@10", "F1@25", "F1@50", "storage", "ratio",
         "encode s", "notes"], out)


def ablation_table(rows: list[dict[str, Any]], label: str) -> str:
    out = []
    for r in rows:
        if "error" in r:
            out.append([r["row"], "-", "-", "-", "-", r["error"][:80]])
            continue
        f = r["fidelity"]
        out.append([r["row"], human_bytes(f["storage_bytes"]), f"{f['compression']:.1f}x",
                    _fmt(f, "acc"), _fmt(f, "edit"), _fmt(f, "f1@50")])
    return markdown_table([label, "storage", "compression", "Acc", "Edit", "F1@50"], out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="minutes: 2 epochs, seeds 0,1, rows " + ",".join(QUICK_ROWS)
                   + ", the 'quick' encode recipe, no ablations, gtea-tcn128 only")
    p.add_argument("--epochs", type=int, default=None, help="MS-TCN epochs (default 8; quick 2)")
    p.add_argument("--seeds", default=None, help="comma-separated (default 0,1,2; quick 0,1)")
    p.add_argument("--datasets", default=None,
                   help="comma-separated: shared data folder names, synth:<preset>[:D], or "
                        "paths (default gtea-tcn128,synth:gtea:2048; quick gtea-tcn128)")
    p.add_argument("--rows", default=None, help="comma-separated subset of " + ",".join(MAIN_ROWS))
    p.add_argument("--no-ablations", action="store_true", help="main table only")
    p.add_argument("--ablation-rows", default=None,
                   help="comma-separated subset of the ablation rows by name (e.g. "
                        "K=1,K=16,gamma=0.1,random,int8); default all")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--recipe", default=None, help="encode recipe (default cpu; quick quick)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/fidelity"))
    p.add_argument("--keep-archives", action="store_true")
    p.add_argument("--progress", action="store_true", help="tqdm bars")
    args = p.parse_args(argv)
    q = args.quick
    args.epochs = args.epochs or (2 if q else 8)
    args.seed_list = tuple(parse_list(args.seeds or ("0,1" if q else "0,1,2"), int))
    args.dataset_list = parse_list(args.datasets or ("gtea-tcn128" if q else "gtea-tcn128,synth:gtea:2048"))
    args.row_list = parse_list(args.rows) if args.rows else (QUICK_ROWS if q else list(MAIN_ROWS))
    unknown = [r for r in args.row_list if r not in MAIN_ROWS]
    if unknown:
        p.error(f"--rows: unknown {unknown}; choose from {list(MAIN_ROWS)}")
    args.recipe = args.recipe or ("quick" if q else "cpu")
    args.ablations = not (args.no_ablations or q)
    names = [name for _, name, _ in ablation_rows()]
    args.ablation_names = parse_list(args.ablation_rows) if args.ablation_rows else names
    unknown = [r for r in args.ablation_names if r not in names]
    if unknown:
        p.error(f"--ablation-rows: unknown {unknown}; choose from {names}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    started = time.perf_counter()
    work = args.out / "archives"
    work.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "machine": info,
        "config": {"epochs": args.epochs, "seeds": list(args.seed_list), "recipe": args.recipe,
                   "device": args.device, "quick": args.quick, "split": "split1",
                   "rows": args.row_list, "ablations": args.ablations},
        "datasets": {},
    }
    md = [f"# Downstream fidelity (MS-TCN, {args.epochs} epochs, seeds "
          f"{list(args.seed_list)}, encode recipe {args.recipe!r})", "", machine_line(info), ""]
    n_abl = len({_key(params) for _, name, params in ablation_rows()
                 if name in args.ablation_names} - {
        _key(MAIN_ROWS[r]) for r in args.row_list}) if args.ablations else 0
    n_rows = len(args.row_list) * len(args.dataset_list) + n_abl
    print(f"plan: {n_rows} training sets x {len(args.seed_list)} seeds = "
          f"{n_rows * len(args.seed_list)} MS-TCN trainings of {args.epochs} epochs",
          file=sys.stderr)
    for i, dname in enumerate(args.dataset_list):
        root = resolve_dataset(dname, args.out / "data", progress=args.progress)
        runner = Runner(dname.replace(":", "-"), root, args, work)
        main_rows = [runner.run(r, MAIN_ROWS[r]) for r in args.row_list]
        entry: dict[str, Any] = {"path": str(root), "main": main_rows, "ablations": {}}
        md += [f"## {dname} ({root})", "", main_table(main_rows), ""]
        if args.ablations and i == 0:
            for group, label in (("k", "K"), ("gamma", "gamma"), ("sampling", "sampling"),
                                 ("quant", "code dtype")):
                rows = [runner.run(name, params) for g, name, params in ablation_rows()
                        if g == group and name in args.ablation_names]
                if not rows:
                    continue
                entry["ablations"][group] = rows
                md += [f"### {dname}: {label} (inversion)", "", ablation_table(rows, label), ""]
        payload["datasets"][dname] = entry
    payload["seconds"] = time.perf_counter() - started
    md.append(f"total wall time {payload['seconds'] / 60:.1f} min")
    text = "\n".join(md)
    print(text)
    write_results(args.out, "fidelity", payload, text)
    if not args.keep_archives:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
