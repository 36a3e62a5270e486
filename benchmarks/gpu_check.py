"""One command for a machine with CUDA: the GPU tests, GPU encodes checked and timed, GPU decode.

    python -m benchmarks.gpu_check [--videos 40] [--recipes gpu,paper] [--paper-epochs 40]
                                   [--paper-iters 500] [--compare-videos 3] [--eval-epochs 5]

Runs from the repository root with the torch already installed there (nothing is installed;
``tascodec`` is imported from the working tree; pytest and hypothesis are needed for step 1
only). Sized to finish in about five minutes on one H200 by estimate, not yet by a timed run
(the encodes dominate: lower ``--videos`` or ``--paper-epochs`` for a shorter run).

1. runs the tests marked ``gpu`` (pytest ``-m gpu``);
2. makes a Breakfast-shaped synthetic subset (``--videos`` videos, D = 2048, real transcripts
   and lengths) and encodes it on the GPU with each recipe of ``--recipes`` and
   ``deterministic=True`` (the ``paper`` recipe's 7.5K epochs and 10K iterations are cut to
   ``--paper-epochs`` / ``--paper-iters``); the first recipe is encoded twice, and the two
   archives must hold identical codes and decoder (the determinism claim);
3. compares with the CPU: the trained model inverts ``--compare-videos`` videos on the GPU and
   on the CPU (codes, max relative difference), and every video of the archive decoded with
   torch on the GPU against NumPy's decode of it;
4. trains MS-TCN (``--eval-epochs`` epochs, one seed, ``deterministic=True``) on the first
   archive with the videos decoded on the GPU (``evaluate_archive(decode="auto")``) twice,
   which must score identically, and once decoded with NumPy;
5. prints a table of the encodes (train, invert and decode times, the differences, whether the
   repeat was identical) and one of the evaluations.

Exit status 1 when a step failed (its traceback is printed and the others still run) or a
repeat was not identical.

Without CUDA it still runs end to end on the CPU (so the script is tested): encodes on the
CPU, the torch decoder on the CPU (``"cpu-torch"``) where the GPU's would be, and one line for
each step saying what it skipped.
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from ._common import machine_line, markdown_table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--videos", type=int, default=40)
    p.add_argument("--dim", type=int, default=2048)
    p.add_argument("--recipes", default="gpu,paper")
    p.add_argument("--paper-epochs", type=int, default=40)
    p.add_argument("--paper-iters", type=int, default=500)
    p.add_argument("--compare-videos", type=int, default=3,
                   help="videos inverted on the GPU and on the CPU for the code comparison")
    p.add_argument("--eval-epochs", type=int, default=5)
    p.add_argument("--no-tests", action="store_true", help="skip step 1")
    return p.parse_args(argv)


def _encode(root: Path, out: Path, recipe: str, device: str, args: argparse.Namespace,
            cache: dict[str, Any]) -> Any:
    import tascodec

    extra: dict[str, Any] = {}
    if recipe == "paper":
        extra = {"epochs": args.paper_epochs, "invert_max_iters": args.paper_iters}
    return tascodec.encode(root, out, device=device, recipe=recipe, overwrite=True,
                           progress=False, max_bytes=None, cache=cache, deterministic=True,
                           **extra)


def _decode_all(path: Path, device: str | None) -> tuple[float, dict[str, np.ndarray]]:
    """(frames per second, decoded videos (T, D)) of every video of ``path`` on ``device``."""
    import tascodec

    out, frames, start = {}, 0, time.perf_counter()
    with tascodec.open(path) as archive:
        for video in archive.videos:
            out[video] = np.asarray(archive.decode(video, device=device))
            frames += out[video].shape[0]
    return frames / max(time.perf_counter() - start, 1e-9), out


def _max_rel(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    return max(float(np.abs(a[v] - b[v]).max() / (np.abs(b[v]).max() + 1e-12)) for v in b)


def _same_archives(p: Path, q: Path) -> bool:
    """Whether two archives hold bit-identical codes and decoder tensors."""
    import tascodec

    with tascodec.open(p) as a, tascodec.open(q) as b:
        if list(a.videos) != list(b.videos):
            return False
        if not all(np.array_equal(a.codes(v), b.codes(v)) for v in a.videos):
            return False
        ta, tb = a.decoder().tensors, b.decoder().tensors
        return set(ta) == set(tb) and all(np.array_equal(ta[k], tb[k]) for k in ta)


def _codes_gpu_vs_cpu(root: Path, path: Path, cache: dict[str, Any], videos: int) -> float:
    """Max relative difference of the codes the trained model inverts for the first
    ``videos`` videos of the archive on CUDA and on the CPU (the archive's inversion
    settings, K = 8 per segment)."""
    from tascodec.codecs.inversion import invert_kwargs
    from tascodec.content import SegmentTable
    from tascodec.format import open_archive
    from tascodec.layout import StandardDataset
    from tascodec.source import ArraySource
    from tascodec.tca.invert import invert

    model = next(v[0] for k, v in cache.items() if k.startswith("tca:"))
    with open_archive(path) as archive:
        names = list(archive.videos)[:videos]
        config = dict(archive.codec_config)
    dataset = StandardDataset(root)
    source = ArraySource({v: np.ascontiguousarray(dataset.features(v).T) for v in names},
                         {v: dataset.labels(v) for v in names}, list(dataset.class_names))
    table = SegmentTable.from_labels(names, [source.labels(v) for v in names], 8)
    kwargs = {**invert_kwargs({k: v for k, v in config.items() if k.startswith("invert_")}),
              "progress": False, "init": config.get("init", "encoded")}
    on_gpu, _ = invert(model, source, table, device="cuda", **kwargs)
    on_cpu, _ = invert(copy.deepcopy(model).cpu(), source, table, device="cpu", **kwargs)
    return float(np.abs(on_gpu - on_cpu).max() / (np.abs(on_cpu).max() + 1e-12))


def _stats(path: Path) -> dict[str, Any]:
    import tascodec

    with tascodec.open(path) as archive:
        return dict(archive.header["stats"])


def _evaluations(path: Path, root: Path, cuda: bool, epochs: int) -> list[list[str]]:
    """Rows of the evaluation table: MS-TCN on the archive, decoded on the device (twice) and
    with NumPy."""
    from tascodec.evaluate import evaluate_archive

    device = "cuda" if cuda else "cpu"
    on_device = "auto" if cuda else "torch"  # "auto" is the torch decoder on CUDA only
    rows, first = [], None
    for decode in (on_device, on_device, "numpy"):
        start = time.perf_counter()
        r = evaluate_archive(path, root, split="split1", seeds=(0,), epochs=epochs,
                             device=device, progress=False, decode=decode, deterministic=True)
        repeat = ""
        if decode == on_device:
            if first is None:
                first = r.per_seed
            else:
                repeat = "yes" if r.per_seed == first else "NO"
        rows.append([decode, r.device, f"{time.perf_counter() - start:.1f}",
                     f"{r.mean['acc']:.2f}", f"{r.mean['f1@50']:.2f}", repeat])
    return rows


def _recipe_row(root: Path, tmp: Path, recipe: str, device: str, args: argparse.Namespace,
                repeat: bool) -> list[str]:
    """Encode with ``recipe`` on ``device`` (twice when ``repeat``), decode, compare: a row."""
    cuda = device == "cuda"
    path, cache = tmp / f"{recipe}.tasz", {}
    summary = _encode(root, path, recipe, device, args, cache)
    stats = _stats(path)
    same = ""
    if repeat:
        again = tmp / f"{recipe}-again.tasz"
        _encode(root, again, recipe, device, args, {})
        same = "yes" if _same_archives(path, again) else "NO"
    rate_dev, on_dev = _decode_all(path, device if cuda else "cpu-torch")
    rate_np, on_np = _decode_all(path, None)
    code_err = (f"{_codes_gpu_vs_cpu(root, path, cache, args.compare_videos):.2e}"
                if cuda else "")
    print(f"encoded {recipe}: {summary.seconds['total']:.1f} s")
    return [recipe, device, f"{stats.get('train_seconds', 0.0):.1f}",
            f"{stats.get('code_seconds', 0.0):.1f}", f"{summary.seconds['total']:.1f}",
            f"{rate_dev:,.0f}", f"{rate_np:,.0f}", code_err, f"{_max_rel(on_dev, on_np):.2e}",
            same]


def main(argv: list[str] | None = None) -> int:
    # cuBLAS reads this when CUDA starts: set before any CUDA work so deterministic=True holds.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    args = parse_args(argv)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    failed = 0
    print(machine_line())
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, device "
          f"{torch.cuda.get_device_name(0) if cuda else 'cpu'}")
    if args.no_tests:
        print("step 1: skipped (--no-tests)")
    elif not cuda:
        print("step 1: skipped: no CUDA device (the gpu tests skip themselves here)")
    else:
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests"])
        print(f"step 1: gpu tests exit code {rc}")
        failed += rc != 0
    if not cuda:
        print("steps 2-4: skipped: no CUDA device; encodes, the repeat and MS-TCN run on the "
              "CPU instead, the GPU-vs-CPU code comparison is skipped, and the torch decoder "
              "runs on the CPU")
    from tascodec.synth import synthesize

    rows: list[list[str]] = []
    eval_rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="tascodec-gpu-check-") as tmp:
        start = time.perf_counter()
        root = synthesize(Path(tmp) / "data", preset="breakfast", videos=args.videos,
                          dim=args.dim, seed=0)
        print(f"synthesized {args.videos} videos, D = {args.dim}: "
              f"{time.perf_counter() - start:.1f} s")
        recipes = [r for r in args.recipes.split(",") if r]
        for n, recipe in enumerate(recipes):
            try:
                rows.append(_recipe_row(root, Path(tmp), recipe, device, args, repeat=n == 0))
            except Exception as exc:  # one failing step must not hide what the others show
                failed += 1
                traceback.print_exc()
                print(f"recipe {recipe}: FAILED: {type(exc).__name__}: {exc}")
                rows.append([recipe, device, "FAILED"] + [""] * 7)
        if recipes and (Path(tmp) / f"{recipes[0]}.tasz").is_file():
            try:
                eval_rows = _evaluations(Path(tmp) / f"{recipes[0]}.tasz", root, cuda,
                                         args.eval_epochs)
            except Exception as exc:
                failed += 1
                traceback.print_exc()
                print(f"evaluate: FAILED: {type(exc).__name__}: {exc}")
    print(markdown_table(["recipe", "device", "train s", "invert s", "encode s",
                          "decode frames/s (torch)", "decode frames/s (NumPy)",
                          "codes GPU vs CPU (max rel)", "decoded torch vs NumPy (max rel)",
                          "deterministic repeat identical"], rows))
    if eval_rows:
        print()
        print(markdown_table(["decode", "device", "evaluate s", "Acc", "F1@50",
                              "repeat identical"], eval_rows))
    failed += sum(row[-1] == "NO" for row in rows + eval_rows)  # a repeat that differed
    if failed:
        print(f"{failed} step(s) failed or did not repeat (see above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
