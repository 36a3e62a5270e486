"""``tascodec demo``: the main job on a built-in default, end to end.

Synthesizes a small dataset, encodes it with the default codec (``pca``), decodes every stored
video from the archive, and prints a report: sizes, ratio, reconstruction error, decode speed.
``-o DIR`` keeps the dataset and the archive in DIR (and prints the archive's path); a
dataset or archive already there is replaced only with ``--overwrite``. Without ``-o`` they
live in a temporary directory removed at the end, and the report says so instead of naming
paths that no longer exist. Needs the torch extra.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import tascodec
from tascodec.dataset.layout import StandardDataset
from tascodec.encoding.summary import FIDELITY_NOTES
from tascodec.synth import synthesize
from tascodec.units import format_bytes
from ..codecs import list_codecs
from ..encoding.encode import DEFAULT_CODEC
from ..errors import OutputExistsError
from ..extras import require_torch
from .options import add_device, add_output, add_quiet, check_device

__all__ = ["register", "run_demo"]

# what --help prints (the module docstring is reStructuredText for the API docs)
_DESCRIPTION = ("Synthesize a small dataset, encode it (default codec: pca), decode "
                "every stored video and print a report: sizes, ratio, reconstruction error, "
                "decode speed. -o DIR keeps the dataset and the archive in DIR (replaced only "
                "with --overwrite); without it they live in a temporary folder removed at the "
                "end. Needs the torch extra.")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="synthesize a small dataset, encode it, decode it, and report",
        description=_DESCRIPTION,
    )
    add_output(p, help="keep the dataset and the archive in DIR (default: a temporary "
                       "folder, removed at the end)", aliases=("--out", "--workdir"),
               required=False, metavar="DIR")
    p.add_argument("--preset", default="gtea", help="synthetic preset (default: gtea)")
    p.add_argument("--videos", type=int, default=12, help="videos to synthesize (default: 12)")
    p.add_argument("--dim", type=int, default=None, help="feature width D (default: the preset's)")

    p.add_argument("--codec", default=DEFAULT_CODEC, choices=list_codecs(), metavar="ID",
                   help=f"codec id: {', '.join(list_codecs())} (default: {DEFAULT_CODEC})")
    add_device(p, default="auto", what="device of the learned codecs' training and "
                                        "inversion (auto: CUDA when present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true",
                   help="with --out: replace the dataset and the archive DIR already holds")
    add_quiet(p)
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    require_torch("tascodec demo")
    check_device(args.device)  # before anything is synthesized or a folder made
    args.out = None if args.output is None else Path(args.output)
    if args.out is None:
        with tempfile.TemporaryDirectory(prefix="tascodec-demo-") as tmp:
            code = _demo(Path(tmp), args, keep=False)
        print("the dataset and the archive were in a temporary folder, now removed "
              "(-o DIR keeps them)")
        return code
    _check_outputs(args.out, args.preset, args.overwrite)
    args.out.mkdir(parents=True, exist_ok=True)
    code = _demo(args.out, args, keep=True)
    archive = (args.out / f"{args.preset}.tasz").resolve()
    print(f"archive kept: {archive} (tascodec info / ls / export it; the dataset is in "
          f"{archive.parent / f'{args.preset}-synthetic'})")
    return code


def _check_outputs(out: Path, preset: str, overwrite: bool) -> None:
    """Refuse, before any work, to replace the dataset or archive of an earlier demo in
    ``out`` without ``overwrite``."""

    if overwrite:
        return
    data_dir, archive = out / f"{preset}-synthetic", out / f"{preset}.tasz"
    if data_dir.is_dir() and any(data_dir.iterdir()):
        raise OutputExistsError(data_dir, "already holds a dataset")
    if archive.exists():
        raise OutputExistsError(archive)


def _demo(workdir: Path, args: argparse.Namespace, *, keep: bool) -> int:
    progress = not args.quiet
    data_dir = workdir / f"{args.preset}-synthetic"
    archive_path = workdir / f"{args.preset}.tasz"

    # paths in a temporary directory are not printed: they are gone when the report is read
    def where(path: Path) -> str:
        return str(path) if keep else f"{path.name} (temporary)"

    print(f"[1/3] synthesize preset={args.preset!r} videos={args.videos} -> {where(data_dir)}")
    t0 = time.perf_counter()
    synthesize(data_dir, preset=args.preset, videos=args.videos, dim=args.dim, seed=args.seed,
               overwrite=args.overwrite)
    print(f"      done in {time.perf_counter() - t0:.1f} s")

    print(f"[2/3] encode codec={args.codec!r} -> {where(archive_path)}")
    summary = tascodec.encode(data_dir, archive_path, codec=args.codec, device=args.device,
                              seed=args.seed, overwrite=args.overwrite, progress=progress)
    print(str(summary).replace(str(summary.path), where(Path(summary.path))))

    print("[3/3] decode every stored video and compare with the original features")
    dataset = StandardDataset(data_dir)
    frames = 0
    squared_error = 0.0
    relative_error = 0.0  # squared error over each channel's variance in the stored videos,
    # as encode's relative_mse (the split's variance: every video of it is stored)
    decode_seconds = 0.0
    with tascodec.open(archive_path) as archive:
        originals = {v: np.asarray(dataset.features(v), np.float64) for v in archive.videos}
        variance = np.concatenate(list(originals.values()), axis=1).var(axis=1)  # (D,)
        weight = 1.0 / np.maximum(variance, 1e-12)
        for video in archive.videos:
            t0 = time.perf_counter()
            x_hat = archive.decode(video)
            decode_seconds += time.perf_counter() - t0
            error = np.square(x_hat - originals[video].T)  # (T, D)
            squared_error += float(error.sum())
            relative_error += float((error * weight).sum())
            frames += x_hat.shape[0]
        dim = archive.feature_dim
        sizes = archive.sizes()
    original = frames * dim * 4
    print()
    print("| quantity | value |")
    print("|---|---|")
    print(f"| videos stored | {len(archive.videos)} |")
    print(f"| frames decoded | {frames} (D = {dim}) |")
    print(f"| float32 bytes of those frames | {format_bytes(original)} |")
    print(f"| archive bytes | {format_bytes(sizes['total'])} |")
    print(f"| ratio | {original / max(sizes['total'], 1):.1f}x smaller |")
    print(f"| relative error (decoded vs original) | {relative_error / (frames * dim):.4g} "
          f"({FIDELITY_NOTES['relative_mse']}) |")
    print(f"| MSE (decoded vs original) | {squared_error / (frames * dim):.4g} "
          f"({FIDELITY_NOTES['reconstruction_mse']}) |")
    print(f"| decode speed | {frames / max(decode_seconds, 1e-9):,.0f} frames/s |")
    return 0
