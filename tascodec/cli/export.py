"""``tascodec export`` (archive -> standard layout) and ``tascodec decode`` (one video -> .npy)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..dataset.orientation import in_layout
from ..decode import decode_video
from ..errors import OutputExistsError, TascodecError
from ..format import open_archive
from ..loading.export import export_archive
from ..runtime.tempfiles import write_beside
from .options import add_device, add_output, decode_device, output_file

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="decode an archive into the standard dataset layout",
        description="Write features/<video>.npy (D, T) float32, groundTruth/<video>.txt, "
                    "mapping.txt and splits/*.bundle decoded from ARCHIVE into OUT_DIR.",
    )
    p.add_argument("archive", metavar="ARCHIVE", help="a .tasz archive: a path or a URL")
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR", nargs="?", default=None,
                   help="the folder to write (or -o OUT_DIR)")
    add_output(p, help="the folder to write (the same as OUT_DIR)", required=False,
               metavar="OUT_DIR")
    p.add_argument("--split", default=None, metavar="NAME",
                   help="export only this split's videos and bundle (default: everything; "
                        "train / test mean train.split1 / test.split1)")
    p.add_argument("--overwrite", action="store_true",
                   help="allow a non-empty OUT_DIR (a partial export of the same archive and "
                        "split is resumed without it)")
    p.add_argument("--with-test", type=Path, default=None, metavar="DATASET",
                   help="add DATASET's original test split of each exported train.<fold> "
                        "(features, groundTruth, bundle; hard links, else copies), so the "
                        "folder trains on decoded data and predicts on the original test set")
    add_device(p, default="cpu", what="decode device (cpu: NumPy)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="decode and write with N processes (default 1); memory stays one "
                        "video per process")
    p.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                   help="no progress bar")
    _limit_option(p)
    p.set_defaults(func=_run_export)

    d = sub.add_parser(
        "decode",
        help="decode one video of an archive into a .npy file",
        description="Decode VIDEO of ARCHIVE and save its features as a float32 .npy file.",
    )
    d.add_argument("archive", metavar="ARCHIVE", help="a .tasz archive: a path or a URL")
    d.add_argument("video", metavar="VIDEO",
                   help="a stored video's name (as in a bundle, with or without .txt / .npy), "
                        "or its 0-based position in `tascodec ls`")
    add_output(d, help="output .npy path; an existing folder (or one ending in /) gets "
                       "<VIDEO>.npy; missing folders above it are created")
    d.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    d.add_argument("--layout", choices=("DT", "TD"), default="DT",
                   help="DT: (D, T) as in the standard layout (default); TD: (T, D)")
    add_device(d, default="cpu", what="decode device (cpu: NumPy)")
    _limit_option(d)
    d.set_defaults(func=_run_decode)


def _limit_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--decode-limit", default=None, metavar="BYTES",
                   help="refuse a video whose decode needs more (e.g. 4GiB; default "
                        "$TASCODEC_DECODE_LIMIT or min(8 GiB, half the RAM, half of "
                        "ulimit -v))")


def _run_export(args: argparse.Namespace) -> int:
    if (args.out_dir is None) == (args.output is None):
        raise TascodecError("give the folder to write once: OUT_DIR or -o/--output")
    device = decode_device(args.device)  # a missing CUDA device: before any folder is made
    out = export_archive(args.archive, args.out_dir or Path(args.output), split=args.split,
                         overwrite=args.overwrite,
                         progress=not args.quiet, device=device,
                         decode_limit=args.decode_limit, with_test=args.with_test,
                         workers=args.workers)
    bundles = sorted((out / "splits").glob("*.bundle"))
    counts = ", ".join(f"{b.stem} ({sum(1 for line in b.read_text().splitlines() if line)})"
                       for b in bundles)
    videos = sum(1 for _ in (out / "features").glob("*.npy"))
    extra = f", + the original test split of {args.with_test}" if args.with_test else ""
    print(f"exported {args.archive} -> {out}: {videos} videos{extra}; splits: {counts or 'none'}")
    return 0


def _run_decode(args: argparse.Namespace) -> int:


    device = decode_device(args.device)  # a missing CUDA device: before any work
    with open_archive(args.archive, decode_limit=args.decode_limit) as ar:
        video = stored_video(ar.videos, args.video, ar.path)
        out = output_file(args.output, f"{video}.npy")
        if out.suffix != ".npy":
            out = out.with_suffix(out.suffix + ".npy")
        if out.exists() and not args.overwrite:  # before decoding; checked again when written
            raise OutputExistsError(out)
        x = decode_video(ar, video, device=device)
    x = in_layout(x, args.layout)
    write_beside(out, lambda handle: np.save(handle, x), overwrite=args.overwrite)
    print(f"{video}: {x.shape} float32 ({args.layout}) -> {out}")
    return 0


def stored_video(videos: list[str], given: str, path: object) -> str:
    """The stored video ``given`` names: itself, itself less ``.txt`` / ``.npy`` (as bundles and
    feature files spell it), or an index into ``videos`` (as ``tascodec ls`` numbers them)."""

    known = set(videos)
    for candidate in (given, given.removesuffix(".txt"), given.removesuffix(".npy")):
        if candidate in known:
            return candidate
    if given.isdigit() and int(given) < len(videos):
        return videos[int(given)]
    near = [v for v in videos if given.split(".")[0].lower() in v.lower()][:5]
    hint = f"; similar: {near}" if near else ""
    raise TascodecError(f"{path}: no video {given!r} among {len(videos)} stored (list them with "
                        f"`tascodec ls {path}`){hint}")
