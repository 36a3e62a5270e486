"""``tascodec ls``: the manifest of an archive's stored videos, from its segment table.

``ls ARCHIVE [--split NAME] [--json]`` lists, per stored video (in archive order): its index
(what ``decode``, ``plot --video`` and ``tascodec.open(...).features(i)`` take), its name,
the splits that hold it, frames T, segments S, codes n and code bytes (n x d x the stored
code dtype's width, before compression; 0 when codes are generated at decode time, as for
``tca-random``). Nothing is decoded and only the header and tables are read (NumPy only: torch
is never imported).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..dataset.splits import select_split
from ..format import open_archive
from ..units import format_bytes

__all__ = ["register", "manifest", "format_manifest", "run_ls"]

# what --help prints (plain text; the docstring above is reStructuredText)
_DESCRIPTION = ("List the stored videos, in archive order: index (what decode and plot --video "
                "take), name, splits, frames, segments, codes and code bytes (before "
                "compression; 0 when codes are generated at decode time). Reads the header "
                "and tables only; nothing is decoded.")

_CODE_WIDTH = {"float32": 4, "float16": 2, "int8": 1}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ls`` subcommand."""
    p = sub.add_parser(
        "ls",
        help="list the stored videos: name, splits, frames, segments, codes, code bytes",
        description=_DESCRIPTION,
    )
    p.add_argument("archive", metavar="ARCHIVE", help="a .tasz archive")
    p.add_argument("--split", default=None, metavar="NAME",
                   help="only the videos of this split (train / test mean train.split1 / "
                        "test.split1)")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p.set_defaults(func=run_ls)


def manifest(archive: Any, split: str | None = None) -> dict[str, Any]:
    """The facts ``ls`` prints, as JSON-ready values: the archive's code layout and one entry
    per stored video (``index``, ``name``, ``splits``, ``frames``, ``segments``, ``codes``,
    ``code_bytes``), in archive order; only ``split``'s videos when given (their indices
    still the archive's)."""

    t = archive.table
    splits = archive.splits
    member: dict[str, list[str]] = {}
    for name, videos in splits.items():
        for video in videos:
            member.setdefault(video, []).append(name)
    key = None if split is None else select_split(splits, split, archive.path)
    keep = None if key is None else set(splits[key])
    dtype = archive.code_dtype
    groups = archive.groups
    row_bytes_of = [g.code_dim * _CODE_WIDTH[g.code_dtype] if g.code_dtype else 0
                    for g in groups]
    first = t.video_first_segment
    first_code = t.video_first_code
    videos = []
    for i, name in enumerate(t.video_names):
        if keep is not None and name not in keep:
            continue
        codes = int(first_code[i + 1] - first_code[i])
        videos.append({
            "index": i,
            "name": name,
            "splits": sorted(member.get(name, [])),
            "frames": int(t.video_num_frames[i]),
            "segments": int(first[i + 1] - first[i]),
            "codes": codes,
            "code_bytes": codes * row_bytes_of[archive.group_of(i)],
            "group": archive.group_of(i),
        })
    return {
        "path": str(archive.path),
        "split": key,
        "code_dim": archive.code_dim,
        "group_codes": [{"group": i, "code_dim": g.code_dim,
                         "code_dtype": g.code_dtype or "generated"}
                        for i, g in enumerate(groups)],
        "code_dtype": dtype or "generated",
        "feature_dim": archive.feature_dim,
        "videos": videos,
    }


def format_manifest(m: dict[str, Any]) -> str:
    """An aligned table of :func:`manifest`'s videos, with a total line."""
    head = ("#", "video", "splits", "frames", "segments", "codes", "code bytes")
    rows = [
        (str(v["index"]), v["name"], ",".join(v["splits"]) or "-", str(v["frames"]),
         str(v["segments"]), str(v["codes"]), format_bytes(v["code_bytes"], 1))
        for v in m["videos"]
    ]
    total = [sum(v[k] for v in m["videos"]) for k in ("frames", "segments", "codes", "code_bytes")]
    rows.append(("", f"{len(m['videos'])} videos", "", *map(str, total[:3]),
                 format_bytes(total[3], 1)))
    widths = [max(len(r[c]) for r in (head, *rows)) for c in range(len(head))]

    def line(r: tuple[str, ...]) -> str:
        cells = [r[0].rjust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2])]
        cells += [cell.rjust(w) for cell, w in zip(r[3:], widths[3:])]
        return "  ".join(cells).rstrip()

    where = f"{m['path']}" + (f", split {m['split']}" if m["split"] else "")
    kinds = {(g["code_dim"], g["code_dtype"]) for g in m["group_codes"]}
    codes = (f"codes {m['code_dim']} wide, {m['code_dtype']}" if len(kinds) < 2 else
             "codes " + ", ".join(f"{g['code_dim']} wide, {g['code_dtype']} in group "
                                  f"{g['group']}" for g in m["group_codes"]))
    codes += f"; feature dim {m['feature_dim']}"
    return "\n".join([f"{where}: {codes}", line(head), *map(line, rows[:-1]), line(rows[-1])])


def run_ls(args: argparse.Namespace) -> int:
    with open_archive(args.archive) as archive:
        m = manifest(archive, args.split)
    print(json.dumps(m, indent=2) if args.json else format_manifest(m))
    return 0
