"""One command for a machine with CUDA: the GPU tests, a GPU encode against a CPU one, timings.

    python -m benchmarks.gpu_check [--videos 40] [--recipes gpu,paper] [--paper-iters 500]

1. runs the tests marked ``gpu`` (pytest ``-m gpu``);
2. makes a Breakfast-shaped synthetic subset (``--videos`` videos, D = 2048, real transcripts
   and lengths) and encodes it with each recipe of ``--recipes`` on ``cuda`` and with the same
   recipe on ``cpu`` (the ``paper`` recipe's 7.5K epochs and 10K iterations are cut to
   ``--paper-epochs`` / ``--paper-iters`` so the check stays minutes long);
3. compares the two archives: codes (relative error) and decoded features of every video
   decoded on the GPU against the CPU's NumPy decode of the CPU archive;
4. prints one table: recipe, device, train s, invert s, decode frames/s, code and decode
   differences.

Without CUDA it still runs end to end on the CPU (so the script is tested), and says on one
line for each step what it skipped.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._common import machine_line, markdown_table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--videos", type=int, default=40)
    p.add_argument("--dim", type=int, default=2048)
    p.add_argument("--recipes", default="gpu,paper")
    p.add_argument("--paper-epochs", type=int, default=200)
    p.add_argument("--paper-iters", type=int, default=500)
    p.add_argument("--no-tests", action="store_true", help="skip step 1")
    return p.parse_args(argv)


def _encode(root: Path, out: Path, recipe: str, device: str, args: argparse.Namespace) -> Any:
    import tascodec

    extra: dict[str, Any] = {}
    if recipe == "paper":
        extra = {"epochs": args.paper_epochs, "invert_max_iters": args.paper_iters}
    return tascodec.encode(root, out, device=device, recipe=recipe, overwrite=True,
                           progress=False, max_bytes=None, **extra)


def _decode_rate(path: Path, device: str | None) -> tuple[float, dict[str, np.ndarray]]:
    import tascodec

    out, frames, start = {}, 0, time.perf_counter()
    with tascodec.open(path) as archive:
        for video in archive.videos:
            out[video] = np.asarray(archive.decode(video, device=device))
            frames += out[video].shape[0]
    return frames / max(time.perf_counter() - start, 1e-9), out


def main(argv: list[str] | None = None) -> int:
    import torch

    args = parse_args(argv)
    cuda = torch.cuda.is_available()
    print(machine_line())
    if args.no_tests:
        print("step 1: skipped (--no-tests)")
    elif not cuda:
        print("step 1: skipped: no CUDA device (the gpu tests skip themselves here)")
    else:
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests"])
        print(f"step 1: gpu tests exit code {rc}")
    if not cuda:
        print("steps 2-3: CUDA encodes and comparisons skipped: no CUDA device; the CPU "
              "encodes below still run")
    from tascodec.synth import synthesize

    rows = []
    with tempfile.TemporaryDirectory(prefix="tascodec-gpu-check-") as tmp:
        root = synthesize(Path(tmp) / "data", preset="breakfast", videos=args.videos,
                          dim=args.dim, seed=0)
        for recipe in [r for r in args.recipes.split(",") if r]:
            results = {}
            for device in (["cuda", "cpu"] if cuda else ["cpu"]):
                path = Path(tmp) / f"{recipe}-{device}.tasz"
                summary = _encode(root, path, recipe, device, args)
                rate, decoded = _decode_rate(path, device if device == "cuda" else None)
                results[device] = (summary, path, decoded)
                stats = summary.seconds
                rows.append([recipe, device, f"{stats['codec']:.1f}", f"{rate:,.0f}", "", ""])
            if "cuda" in results:
                import tascodec

                with tascodec.open(results["cuda"][1]) as a, tascodec.open(results["cpu"][1]) as b:
                    code_err = max(
                        float(np.abs(a.codes(v) - b.codes(v)).max() / (np.abs(b.codes(v)).max() + 1e-12))
                        for v in b.videos)
                dec_err = max(
                    float(np.abs(results["cuda"][2][v] - results["cpu"][2][v]).max()
                          / (np.abs(results["cpu"][2][v]).max() + 1e-12))
                    for v in results["cpu"][2])
                rows[-2][4:] = [f"{code_err:.2e}", f"{dec_err:.2e}"]
    print(markdown_table(["recipe", "device", "encode (train + invert) s", "decode frames/s",
                          "codes vs CPU (max rel)", "decoded vs CPU (max rel)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
