"""The ``servers`` family of the standing adversarial run (issue 28 items 3, 4, 9): lying and
silent HTTP servers serving the format 1.1 goldens to ``tascodec.open(url)``.

Every golden is served by ``RangeServer`` (127.0.0.1) with one misbehaviour each: ``Range``
ignored (HTTP 200 and the whole file), 206 answers longer than asked, 206 answers for another
offset, short bodies, a HEAD that says another size, error statuses, a stalled server (the
timeout set to 1 s for the run), a byte flipped on the way, the file replaced between
requests, and every golden padded with listed small ``*/zarr.json`` entries each followed by
60 KiB. Outcomes as ``adversarial.classify`` (the whole archive opened, read, decoded and
verified by URL): a lie must be ``rejected`` or ``caught`` (or read ``ok`` where it changes
nothing), never ``silent`` or ``foreign``; ``hang`` when a read took longer than 15 s;
``unbounded`` when an open of a padded archive fetched more than ``bound`` (twice the unpadded
archive, plus ``COALESCE_WASTE`` and the 8 KiB tail), or a refused body was read past 16 MiB.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from make_golden import GOLDEN_DIR_1_1, NAMES_1_1, with_manifest, write_zip, zip_entries
from range_server import RangeServer

__all__ = ["run_servers", "LIES"]


def _range(handler: Any, size: int) -> tuple[int, int]:
    spec = handler.headers.get("Range", "bytes=0-").split("=", 1)[1]
    lo, hi = spec.split("-")
    return int(lo), (int(hi) + 1 if hi else size)


def _lie(kind: str, data: bytes, srv: RangeServer) -> Callable[[Any], Any]:
    """A ``RangeServer`` route answering requests for ``data`` on ``srv`` with the lie
    ``kind``."""
    n = len(data)

    seen = [0]

    def route(h: Any) -> Any:
        if kind == "replaced":  # from the 4th request on (after the open), another file
            seen[0] += 1
            if seen[0] == 4:
                srv.files["/a.tasz"] = data[:100] + bytes([data[100] ^ 1]) + data[101:]
            return None
        if h.command != "GET":
            if kind == "head-size":
                return 200, {"Accept-Ranges": "bytes", "ETag": '"x"'}, b""  # length 0
            return None  # HEAD: the truth
        lo, hi = _range(h, n)
        cr = {"Content-Range": f"bytes {lo}-{hi - 1}/{n}", "ETag": '"x"'}
        if kind == "longer":
            return 206, cr, data[lo:hi] + data[:4096]
        if kind == "offset":
            return 206, {**cr, "Content-Range": f"bytes {max(0, lo - 7)}-{hi - 8}/{n}"}, data[
                max(0, lo - 7):hi - 7]
        if kind == "short":
            return 206, cr, data[lo:max(lo, hi - 3)]
        if kind == "status":
            return 503, {}, b"busy"
        if kind == "flip":
            body = bytearray(data[lo:hi])
            body[len(body) // 2] ^= 0x10
            return 206, cr, bytes(body)
        return None

    return route


LIES = ("no-range", "longer", "offset", "short", "head-size", "status", "flip", "stall",
        "replaced", "padded")


def bound(nbytes: int) -> int:
    """The most an open of a padded archive may fetch: the unpadded archive's ``nbytes``
    twice over, plus the bytes one prefetch may read between entries and the first tail."""
    from tascodec.format.coalesce import COALESCE_WASTE
    from tascodec.format.container import TAIL_BYTES

    return 2 * nbytes + COALESCE_WASTE + TAIL_BYTES


def _padded(entries: dict[str, bytes]) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    out = dict(entries)
    for i in range(40):
        out[f"pad{i:03d}/zarr.json"] = b'{"a": 1}\n '
        out[f"pad{i:03d}/blob"] = rng.bytes(60 << 10)
    return with_manifest(out)


def run_servers(workdir: Any, trace: list | None = None) -> Counter:
    """Every golden behind every lie; a Counter of outcomes (``trace``: a list that gets
    ``(golden, lie, outcome, bytes an open fetched, bytes written)`` of each trial)."""
    import adversarial
    import tascodec.format.remote as remote

    classify = adversarial.classify
    out: Counter = Counter()
    saved = remote.DEFAULT_TIMEOUT_S, adversarial.over_budget
    remote.DEFAULT_TIMEOUT_S = 1.0  # a stalled server must fail within the run
    # A decode's memory against its estimate is the budget family's: over a URL every read
    # adds asyncio's 256 KiB receive buffer (selector transports' max_size) to the traced
    # peak, which dwarfs the goldens' estimates (28 KiB); this family bounds bytes instead.
    adversarial.over_budget = lambda record: False
    try:
        for name in NAMES_1_1:
            golden = GOLDEN_DIR_1_1 / f"{name}.tasz"
            data = golden.read_bytes()
            expected = np.load(GOLDEN_DIR_1_1 / f"{name}.npz")
            for kind in LIES:
                served = data
                if kind == "padded":
                    served = write_zip(workdir / "padded.tasz",
                                       _padded(zip_entries(golden))).read_bytes()
                srv = RangeServer({"/a.tasz": served}, ranges=kind != "no-range",
                                  stall=3 if kind == "stall" else 0)
                srv.routes["/a.tasz"] = _lie(kind, served, srv)
                with srv:
                    opened = 0
                    if kind == "padded":  # what an open alone fetches
                        from tascodec.format import open_archive

                        open_archive(srv.url("/a.tasz")).close()
                        opened = srv.bytes_written
                        srv.reset()
                    t0 = time.monotonic()
                    outcome = classify(srv.url("/a.tasz"), expected)
                    took = time.monotonic() - t0
                    srv.wait_idle(5)
                if took > 15:
                    outcome = "hang"
                elif outcome != "foreign" and (opened > bound(len(data)) or (
                        kind == "no-range" and srv.bytes_written > 16 << 20)):
                    outcome = "unbounded"
                out[outcome] += 1
                if trace is not None:
                    trace.append((name, kind, outcome, opened, srv.bytes_written))
    finally:
        remote.DEFAULT_TIMEOUT_S, adversarial.over_budget = saved
    return out
