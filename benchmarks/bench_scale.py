"""How encode and export scale with the dataset: Breakfast-shaped synthetic data at fractions
of its real size (1,712 videos, 3.6M frames, D = 2048, 28 GB as float32).

For each fraction it writes the dataset (``tascodec synth --preset breakfast --videos N``) into
a temporary directory, encodes it (``tascodec encode``, one process, and under ``torchrun``
with each ``--nproc``), exports the archive (``tascodec export --workers``) and removes
everything; ``--load-workers`` also reads the whole archive once through ``TaszDataset`` and a
``DataLoader`` with that many workers (what a training epoch reads). Each command runs in its own child process, measured from outside: wall time,
peak RSS of the largest process (and, sampled from ``/proc``, its anonymous and file-backed
parts: memory-mapped features count in RSS while resident), bytes read from and written to
storage (``getrusage`` block counts: page-cache hits are not reads). The archive's stats give the time of each
encode phase (TCA training with its one pass over the training videos, codes, MSE pass).

    python -m benchmarks.bench_scale                          # 1/16 .. 1, D = 2048
    python -m benchmarks.bench_scale --fractions 0.0625,0.125 --nproc 1,2
    python -m benchmarks.bench_scale --quick                  # a smoke run (tiny, D = 64)

Prints a table of figures and the ratios the targets are stated in (time per frame at each
size over that at the smallest; inversion speed-up of N processes over one); writes
``scale.json`` / ``scale.md`` and a plot of time and RSS against frames.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ._common import REPO, machine, machine_line, markdown_table, parse_list, write_results

BREAKFAST_VIDEOS = 1712


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` in a fresh measuring process; its wall time, peak RSS, storage I/O."""
    probe = [sys.executable, "-m", "benchmarks.bench_scale", "--measure", "--", *cmd]
    out = subprocess.run(probe, cwd=REPO, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux ``/proc``; empty where it is not there)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _rss_parts(pids: list[int]) -> dict[str, int]:
    """Largest ``RssAnon`` (heap, tensors) and ``RssFile`` (memory-mapped and shared file
    pages) of one process among ``pids``, in bytes."""
    out = {"anon": 0, "file": 0}
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key = {"RssAnon:": "anon", "RssFile:": "file"}.get(line.split(":")[0] + ":")
            if key:
                out[key] = max(out[key], int(line.split()[1]) * 1024)
    return out


def _measure_main(cmd: list[str]) -> int:
    """Child side of ``measure``: run ``cmd``, print one JSON line of its resource use.

    Besides ``getrusage``'s peak RSS it samples ``/proc`` every half second for the peak
    anonymous and file-backed parts: memory-mapped features count in RSS while their pages
    are resident, and only the anonymous part is memory the encode holds."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = {"anon": 0, "file": 0}
    with ThreadPoolExecutor(1) as pool:
        err = pool.submit(proc.stderr.read)  # drained alongside: a full pipe would block it
        while proc.poll() is None:
            parts = _rss_parts(_descendants(proc.pid))
            peak = {k: max(peak[k], parts[k]) for k in peak}
            time.sleep(0.5)
        stderr = err.result()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(stderr)
        return proc.returncode
    use = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its descendants
    print(json.dumps({"wall_s": wall, "peak_rss_bytes": use.ru_maxrss * 1024,
                      "peak_rss_anon_bytes": peak["anon"], "peak_rss_file_bytes": peak["file"],
                      "read_bytes": use.ru_inblock * 512, "written_bytes": use.ru_oublock * 512,
                      "cpu_s": use.ru_utime + use.ru_stime}))
    return 0


def _load_main(archive: str, workers: int) -> int:
    """Child side of the load phase: one epoch of ``DataLoader(TaszDataset(archive, None))``
    (every stored video, the default 2 GiB decoded-video cache per process) with ``workers``
    workers, batch 1; prints the frames and videos read."""
    import torch
    from torch.utils.data import DataLoader

    from tascodec.loading.torch_data import TaszDataset

    dataset = TaszDataset(archive, None)
    loader = DataLoader(dataset, batch_size=1, num_workers=workers,
                        collate_fn=dataset.collate, persistent_workers=False)
    frames = 0
    with torch.no_grad():
        for batch in loader:
            frames += int(batch.input.shape[-1])  # batch 1: no padding
    print(json.dumps({"frames": frames, "videos": len(dataset)}))
    return 0


def _tascodec(*args: str) -> list[str]:
    return [sys.executable, "-m", "tascodec", *args]


def _torchrun(nproc: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc}", "-m", "tascodec", *args]


def _phases(archive: Path) -> dict[str, float]:
    """Seconds per encode phase, from the archive's stats."""
    import tascodec

    with tascodec.open(archive) as ar:
        stats = ar.header.get("stats", {})
        frames = int(ar.header["num_frames"])
        size = ar.path.stat().st_size
    inv = stats.get("inversion") or {}
    out = {"train_s": stats.get("train_seconds"), "codes_s": stats.get("code_seconds"),
           "invert_s": inv.get("wall_time_s") if isinstance(inv, dict) else None,
           "mse_s": stats.get("mse_seconds"), "codec_s": stats.get("codec_seconds"),
           "gather_s": stats.get("gather_seconds"),
           "split_frames": stats.get("split_frames"), "stored_frames": frames,
           "archive_bytes": size}
    return {k: v for k, v in out.items() if v is not None}


def run_fraction(fraction: float, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    videos = max(8, round(BREAKFAST_VIDEOS * fraction))
    data, row = work / f"bf-{videos}", {"fraction": fraction, "videos": videos}
    row["synth"] = measure(_tascodec("synth", "--preset", args.preset, "--videos", str(videos),
                                     "--dim", str(args.dim), "--quiet", str(data)))
    meta = json.loads((data / "synth.json").read_text())
    row["dataset_bytes"] = sum(p.stat().st_size for p in (data / "features").iterdir())
    row["dataset_frames"] = row["dataset_bytes"] // (4 * int(meta["dim"]))  # (D, T) float32
    enc_args = ["--device", "cpu", "--quiet"]
    if args.codec != "default":  # the learned codecs' settings of the earlier runs
        enc_args += ["--codec", args.codec, "--recipe", args.recipe, "-k", str(args.k),
                     "--gamma", str(args.gamma)]
    for nproc in args.nproc:
        archive = work / f"bf-{videos}-n{nproc}.tasz"
        cmd = (_tascodec("encode", str(data), str(archive), *enc_args) if nproc == 1
               else _torchrun(nproc, "encode", str(data), str(archive), *enc_args))
        env = {**os.environ, "OMP_NUM_THREADS": str(max(1, args.threads // nproc))}
        row[f"encode_n{nproc}"] = {**measure(cmd, env), **_phases(archive)}
    archive = work / f"bf-{videos}-n{args.nproc[0]}.tasz"
    if args.load_workers:
        row["load"] = measure([sys.executable, "-m", "benchmarks.bench_scale", "--load",
                               str(archive), str(args.load_workers)])
    row["export"] = measure(_tascodec("export", str(archive), str(work / f"ex-{videos}"),
                                      "--workers", str(args.export_workers), "--quiet"))
    for path in [data, work / f"ex-{videos}", *work.glob(f"bf-{videos}-n*.tasz")]:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return row


def _rss_split(run: dict[str, Any]) -> str:
    """Peak anonymous / file-backed RSS (GiB), or "-" for runs measured without them."""
    if "peak_rss_anon_bytes" not in run:
        return "-"
    return f"{run['peak_rss_anon_bytes'] / 2**30:.2f} / {run['peak_rss_file_bytes'] / 2**30:.2f}"


def _table(rows: list[dict[str, Any]], nprocs: list[int]) -> str:
    base = rows[0]
    first = f"encode_n{nprocs[0]}"
    per_frame0 = base[first]["wall_s"] / base["dataset_frames"]
    loads = any("load" in r for r in rows)
    lines = []
    for r in rows:
        enc = r[first]
        cells = [f"{r['fraction']:g}", r["videos"], f"{r['dataset_frames']:,}",
                 f"{r['dataset_bytes'] / 2**30:.1f}", f"{r['synth']['wall_s']:.0f}",
                 f"{enc['wall_s']:.0f}", f"{enc.get('train_s', float('nan')):.0f}",
                 f"{enc.get('codes_s', float('nan')):.0f}", f"{enc.get('mse_s', float('nan')):.0f}",
                 f"{enc['peak_rss_bytes'] / 2**30:.2f}", _rss_split(enc),
                 f"{enc['read_bytes'] / 2**30:.1f}",
                 f"{1e6 * enc['wall_s'] / r['dataset_frames']:.0f}",
                 f"{enc['wall_s'] / r['dataset_frames'] / per_frame0:.2f}",
                 f"{r['export']['wall_s']:.0f}", f"{r['export']['peak_rss_bytes'] / 2**30:.2f}"]
        if loads:
            load = r.get("load")
            cells += [f"{load['wall_s']:.0f}", f"{load['peak_rss_bytes'] / 2**30:.2f}"] if load \
                else ["-", "-"]
        for n in nprocs[1:]:
            other = r.get(f"encode_n{n}", {})
            a, b = enc.get("codes_s"), other.get("codes_s")
            cells += [f"{other.get('wall_s', float('nan')):.0f}",
                      f"{a / b:.2f}" if a and b else "-"]
        lines.append(cells)
    headers = ["fraction", "videos", "frames", "GiB", "synth s", "encode s", "train s",
               "codes s", "mse s", "peak RSS GiB", "anon / file GiB", "read GiB", "us/frame",
               "per-frame x",
               "export s", "export RSS GiB"]
    if loads:
        headers += ["load s", "load RSS GiB"]
    for n in nprocs[1:]:
        headers += [f"encode s ({n} procs)", f"codes speed-up ({n} procs)"]
    return markdown_table(headers, lines)


def _plot(rows: list[dict[str, Any]], nprocs: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = [r["dataset_frames"] for r in rows]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    markers = "osD^v"
    for i, n in enumerate(nprocs):
        key = f"encode_n{n}"
        ax_t.plot(frames, [r[key]["wall_s"] / 60 for r in rows], marker=markers[i % 5],
                  label=f"encode, {n} process{'es' if n > 1 else ''}")
        ax_m.plot(frames, [r[key]["peak_rss_bytes"] / 2**30 for r in rows],
                  marker=markers[i % 5], label=f"encode, {n} process{'es' if n > 1 else ''}")
    ax_t.plot(frames, [r["export"]["wall_s"] / 60 for r in rows], marker="x", label="export")
    ax_m.plot(frames, [r["export"]["peak_rss_bytes"] / 2**30 for r in rows], marker="x",
              label="export")
    loaded = [r for r in rows if "load" in r]
    if loaded:
        lf = [r["dataset_frames"] for r in loaded]
        ax_t.plot(lf, [r["load"]["wall_s"] / 60 for r in loaded], marker="+",
                  label="TaszDataset epoch")
        ax_m.plot(lf, [r["load"]["peak_rss_bytes"] / 2**30 for r in loaded], marker="+",
                  label="TaszDataset epoch")
    ax_t.set(xlabel="frames in the dataset", ylabel="wall time (min)", xscale="log",
             yscale="log", title="time")
    ax_m.set(xlabel="frames in the dataset", ylabel="peak RSS (GiB)", xscale="log",
             title="memory")
    from matplotlib.ticker import NullFormatter

    for ax in (ax_t, ax_m):
        ax.xaxis.set_minor_formatter(NullFormatter())  # log-axis minor labels collide
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["--measure", "--"]:
        return _measure_main(argv[2:])
    if argv[:1] == ["--load"]:
        return _load_main(argv[1], int(argv[2]))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fractions", default="0.0625,0.125,0.25,0.5,1")
    p.add_argument("--dim", type=int, default=2048)
    p.add_argument("--preset", default="breakfast")
    p.add_argument("--codec", default="default",
                   help="'default': a plain tascodec encode (the default codec and its rate "
                   "control); a codec id (inversion: the earlier runs) adds --recipe, -k, --gamma")
    p.add_argument("--recipe", default="cpu")
    p.add_argument("-k", type=int, default=8)
    p.add_argument("--gamma", type=float, default=0.5)
    p.add_argument("--nproc", default="1", help="torchrun process counts, e.g. 1,2")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="OMP threads in all (divided among the processes)")
    p.add_argument("--export-workers", type=int, default=2)
    p.add_argument("--load-workers", type=int, default=2,
                   help="DataLoader workers of the load phase (0: no load phase)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where the datasets go (default: a temporary directory, removed)")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    p.add_argument("--plot", type=Path, default=REPO / "benchmarks" / "plots" / "scale.png")
    p.add_argument("--quick", action="store_true", help="a smoke run: 16 and 24 videos, D=64")
    p.add_argument("--replot", type=Path, default=None, metavar="SCALE_JSON",
                   help="redraw the table and the plot of an earlier run's scale.json")
    args = p.parse_args(argv)
    if args.replot is not None:
        payload = json.loads(args.replot.read_text())
        nprocs = parse_list(payload["args"]["nproc"].strip("[]"), int)
        print(_table(payload["rows"], nprocs))
        _plot(payload["rows"], nprocs, args.plot)
        return 0
    args.nproc = parse_list(args.nproc, int)
    fractions = parse_list(args.fractions, float)
    if args.quick:
        fractions, args.dim, args.recipe = [16 / BREAKFAST_VIDEOS, 24 / BREAKFAST_VIDEOS], 64, "quick"
    work = Path(tempfile.mkdtemp(prefix="tascodec-scale-", dir=args.workdir))
    rows = []
    try:
        for f in fractions:
            rows.append(run_fraction(f, args, work))
            print(f"fraction {f:g}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = _table(rows, args.nproc)
    info = machine()
    print(machine_line(info))
    print(table)
    stem = "scale-quick" if args.quick else "scale"
    write_results(args.out, stem, {"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                   "rows": rows}, f"{machine_line(info)}\n\n{table}")
    if not args.quick:
        _plot(rows, args.nproc, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
