"""Module steps of decoding one video: how many times a decode crosses from one tascodec module
into another.

    python -m benchmarks.module_steps [--detail]

A *module step* is a Python-level call (``sys.setprofile`` ``"call"`` event; properties count,
C functions and dataclass-generated ``__init__`` do not) whose callee lies in a tascodec module
other than its caller's; ``Archive.decode`` itself, called from outside, is the first. Each
decode is measured after a warm-up decode of another video of the same group on the same open
archive (header, tables, decoder and int8 scales read, the decoder folded, torch imported), so
the figure is the steady state of a reader decoding video after video. Three decodes of the
goldens under ``tests/data/``:

* ``plain``: a 1.1 ``mlp`` archive (``v1_1/mlp.tasz``), NumPy (``Archive.decode``);
* ``grouped``: a 2.0 archive of two decoder groups (``v2/merged.tasz``), a video of group 1
  (float16 codes, its own decoder and class indices), NumPy;
* ``torch``: the plain archive's video through ``decode_video_tensor(..., device="cpu-torch")``
  (the first step is that call).

Prints, per decode: module steps, tascodec calls, ``Archive.video_index`` calls; ``--detail``
lists the steps (count, caller -> callee function).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import tascodec
from tascodec.format import open_archive

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
ROOT = os.path.dirname(tascodec.__file__)
DECODES = ("plain", "grouped", "torch")


def _module(frame: Any) -> str | None:
    name = frame.f_code.co_filename
    return os.path.relpath(name, ROOT) if name.startswith(ROOT + os.sep) else None


def count_steps(fn: Callable[[], Any]) -> dict[str, Any]:
    """Run ``fn()`` under ``sys.setprofile``: its module steps (list of ``(caller, callee,
    function)``), tascodec calls and ``Archive.video_index`` calls."""
    steps: list[tuple[str | None, str, str]] = []
    calls = index_calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls, index_calls
        if event != "call":
            return
        callee = _module(frame)
        if callee is None:
            return
        caller = _module(frame.f_back) if frame.f_back is not None else None
        calls += 1
        if callee == os.path.join("format", "archive.py") and \
                frame.f_code.co_name == "video_index":
            index_calls += 1
        if caller != callee:
            steps.append((caller, callee, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return {"steps": steps, "calls": calls, "video_index": index_calls}


def measure(name: str) -> dict[str, Any]:
    """One of ``plain``, ``grouped``, ``torch`` (see the module docstring)."""
    path = DATA / ("v2/merged.tasz" if name == "grouped" else "v1_1/mlp.tasz")
    with open_archive(path) as ar:
        videos = ar.groups[-1].videos
        warm, video = videos[0], videos[1]
        if name == "torch":
            from tascodec.decode import decode_video_tensor

            decode_video_tensor(ar, warm, device="cpu-torch")
            return count_steps(lambda: decode_video_tensor(ar, video, device="cpu-torch"))
        ar.decode(warm)
        return count_steps(lambda: ar.decode(video))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detail", action="store_true", help="list every step")
    parser.add_argument("decodes", nargs="*", metavar="DECODE",
                        help=f"which decodes, of {', '.join(DECODES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.decodes if name not in DECODES]
    if unknown:
        parser.error(f"unknown decode {unknown[0]!r}: choose from {', '.join(DECODES)}")
    print(f"{'decode':<8} {'module steps':>12} {'tascodec calls':>14} {'video_index':>11}")
    results = {}
    for name in args.decodes or DECODES:
        try:
            results[name] = measure(name)
        except ImportError as err:  # torch missing: the torch decode cannot run
            print(f"{name:<8} skipped ({err})")
            continue
        r = results[name]
        print(f"{name:<8} {len(r['steps']):>12} {r['calls']:>14} {r['video_index']:>11}")
    if args.detail:
        for name, r in results.items():
            print(f"\n{name}:")
            for (a, b, fn), n in Counter(r["steps"]).most_common():
                print(f"  {n} {a} -> {b} {fn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
