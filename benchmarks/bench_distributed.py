"""A multi-process encode (torchrun, gloo on CPUs) against one process: time per phase.

    python -m benchmarks.bench_distributed [--videos 16] [--dim 2048] [--processes 1,2]
        [--threads-per-rank N] [--recipe cpu] [--dataset DIR] [--keep DIR]

Synthesises a Breakfast-shaped subset (``tascodec synth --preset breakfast --videos N``,
unless ``--dataset`` names one in the standard layout), encodes it with
``torchrun --standalone --nproc_per_node=P -m tascodec encode`` for each P of
``--processes`` (``--all``: every video, every split; the default recipe and rate control),
and prints the phases of each run as the encode summary reports them (seconds): gather (the
one pass over the training videos), train (TCA training, DistributedDataParallel), codes (the
inversion, sharded by videos), mse (the decoded error, sharded), write (rank 0), total and the
wall time of the whole command (process start and rendezvous included), then the inversion
phase's speedup of each P over the first.

``--threads-per-rank``: torch threads of each rank (default: the usable cores divided by P,
so every run uses the machine alike; on a machine shared with other work the figures are
noisy: the load average before and after each run is printed beside it).
The target (issue 13): 2 processes, inversion phase >= 1.6x faster than 1.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import REPO, machine_line, markdown_table, parse_list

PHASES = ("gather", "train", "codes", "mse", "write", "total")


def _phases(stdout: str) -> dict[str, float]:
    """``time: NAME  S s`` rows of the summary rank 0 prints."""
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^time: (\S+)\s+([0-9.]+) s", stdout, re.MULTILINE)}


def run(dataset: Path, out: Path, processes: int, threads: int, recipe: str
        ) -> tuple[dict[str, float], float, tuple[float, float]]:
    """One encode under torchrun: (phases, wall seconds, (load before, load after))."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={processes}", "-m", "tascodec", "encode", str(dataset),
           str(out), "--all", "--device", "cpu", "--recipe", recipe, "--quiet", "--overwrite"]
    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"encode with {processes} processes failed:\n{proc.stderr[-4000:]}")
    return _phases(proc.stdout), wall, (load0, os.getloadavg()[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--processes", default="1,2", help="comma-separated (default 1,2)")
    parser.add_argument("--threads-per-rank", type=int, default=None)
    parser.add_argument("--recipe", default="cpu")
    parser.add_argument("--dataset", type=Path, default=None,
                        help="a dataset in the standard layout (default: synthesised)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="directory for the dataset and archives (default: temporary)")
    args = parser.parse_args(argv)
    counts = parse_list(args.processes, int)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        dataset = args.dataset
        if dataset is None:
            from tascodec.synth import synthesize

            dataset = work / f"breakfast-{args.videos}-d{args.dim}"
            if not (dataset / "mapping.txt").exists():
                synthesize(dataset, "breakfast", videos=args.videos, dim=args.dim, seed=0)
        print(f"dataset: {dataset}")
        rows, codes_time = [], {}
        for n in counts:
            threads = args.threads_per_rank or max(1, (cores or 1) // n)
            phases, wall, (l0, l1) = run(dataset, work / f"p{n}.tasz", n, threads, args.recipe)
            codes_time[n] = phases.get("codes", float("nan"))
            rows.append([n, threads, *(f"{phases.get(p, float('nan')):.2f}" for p in PHASES),
                         f"{wall:.1f}", f"{l0:.1f} / {l1:.1f}"])
        print(markdown_table(["processes", "threads/rank", *PHASES, "wall", "load before/after"],
                             rows))
        base = counts[0]
        for n in counts[1:]:
            print(f"inversion phase, {n} processes against {base}: "
                  f"{codes_time[base] / codes_time[n]:.2f}x faster")


if __name__ == "__main__":
    main()
