"""What reading an archive over HTTP fetches: requests and bytes per open and per video decode.

    python -m benchmarks.bench_remote [--dataset DIR] [--codecs raw,mean,inversion]
                                      [--recipe quick] [--archive A.tasz ...]

Encodes the dataset (default ``../shared/data/gtea-tcn128``, else the synthetic ``tiny``
preset) with each codec (whole dataset, ``split=None``), serves each archive from a
Range-honouring HTTP server on 127.0.0.1 (``tests/support/range_server.py``, which counts what it
sends) and opens it by URL. Printed per archive: its size and entries; the open (HEAD + GET
requests, bytes; the time is over loopback, no network latency); the decoder (fetched by the
first decode of an ``mlp`` archive); one video decoded alone after a fresh open (requests and
bytes, median and max over the videos) beside the stored bytes of the codes chunks holding
its rows and of the int8 code scale (the bound: a chunk is the unit of fetch); every video decoded in order (a chunk
shared by neighbours fetched once); ``verify`` (every byte once); and a training run: a
URL-backed ``TaszDataset`` read by a DataLoader with 2 workers (not persistent: they start
again each epoch) for ``--epochs`` epochs (default 20), with its remote cache (the default)
and, for the first 2 epochs, without it (``remote_cache=False``). ``--archive`` measures
existing archives instead. ``--lying`` measures, instead, what two lying servers cost: one
that ignores ``Range`` (a 48 MiB body for every read: bytes the server got to write before the
reader hung up) and an archive padded with 100 listed 10-byte ``*/zarr.json`` entries each
followed by 60 KiB (bytes an open fetches).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from ._common import REPO, SHARED_DATA, machine_line, markdown_table, parse_list

sys.path.insert(0, str(REPO / "tests" / "support"))  # the test suite's counting HTTP server
from range_server import RangeServer  # noqa: E402

import tascodec  # noqa: E402
from tascodec.units import format_bytes  # noqa: E402


def encode_archives(dataset: Path, codecs: list[str], recipe: str, out: Path) -> list[Path]:
    paths = []
    for codec in codecs:
        path = out / f"{codec}.tasz"
        kw = {"recipe": recipe, "device": "cpu"} if codec == "inversion" else {}
        t0 = time.perf_counter()
        tascodec.encode(dataset, path, codec=codec, split=None, gamma=1.0, progress=False, **kw)
        print(f"encoded {codec}: {format_bytes(path.stat().st_size)} in "
              f"{time.perf_counter() - t0:.1f} s")
        paths.append(path)
    return paths


def chunk_bytes(ar: tascodec.Archive, infos: dict[str, zipfile.ZipInfo], video: str) -> int:
    """Stored bytes (local headers included) of the codes chunks holding ``video``'s rows, and
    of the int8 code scale (read by a process's first decode)."""
    meta = ar._layout.codes
    rows = ar.code_rows(video)
    if meta is None or rows.stop == rows.start:  # generated codes: nothing to fetch
        return 0
    r = meta.chunk_rows
    keys = [f"codes/c/{i}/0" for i in range(rows.start // r, (rows.stop - 1) // r + 1)]
    keys += ["code_scale/c/0"] if ar.code_dtype == "int8" else []
    return sum(30 + len(k) + infos[k].file_size for k in keys)


def training_run(srv: RangeServer, url: str, epochs: int) -> tuple[str, str]:
    """Bytes served for ``epochs`` epochs of a 2-worker DataLoader over ``TaszDataset(url)``
    (every video of the archive), with the remote cache and (2 epochs) without it."""
    if epochs < 1:
        return "-", "-"
    from torch.utils.data import DataLoader

    out = []
    for cache, n in ((True, epochs), (False, min(2, epochs))):
        srv.reset()
        ds = tascodec.TaszDataset(url, None, cache_bytes=0, remote_cache=cache)
        loader = DataLoader(ds, batch_size=1, shuffle=True, num_workers=2,
                            collate_fn=ds.collate)
        for _ in range(n):
            for _batch in loader:
                pass
        total = srv.bytes_sent
        out.append(f"{format_bytes(total)} ({total / len(srv.files['/a.tasz']):.2f}x)")
        del loader, ds
    return out[0], out[1]


def measure(path: Path, epochs: int = 20) -> list[object]:
    data = path.read_bytes()
    total = len(data)
    infos = {i.filename: i for i in zipfile.ZipFile(path).infolist()}
    with RangeServer({"/a.tasz": data}) as srv:
        url = srv.url("/a.tasz")
        t0 = time.perf_counter()
        with tascodec.open(url) as ar:
            open_s = time.perf_counter() - t0
            opened = (srv.heads + srv.gets, srv.bytes_sent)
            videos = ar.videos
            srv.reset()
            for v in videos:  # in order: a chunk shared by neighbours is fetched once
                ar.decode(v)
            in_order = srv.bytes_sent
            srv.reset()
            ar.decoder()  # the first decode's extra: the decoder (none for repeat codecs)
            decoder = srv.bytes_sent
        alone, bound = [], []
        for v in videos:  # each video alone: a fresh open, then its decode
            with tascodec.open(url) as ar:
                ar.decoder()
                srv.reset()
                ar.decode(v)
                alone.append((srv.gets + srv.heads, srv.bytes_sent))
                bound.append(chunk_bytes(ar, infos, v))
        with tascodec.open(url) as ar:
            srv.reset()
            assert ar.verify() == []
            verified = srv.bytes_sent
        run, uncached = training_run(srv, url, epochs)
    reqs, sent = [r for r, _ in alone], [b for _, b in alone]
    assert all(s <= b for s, b in zip(sent, bound)), "a decode fetched more than its chunks"
    med = statistics.median(sent)
    return [
        path.stem, format_bytes(total), len(infos), len(videos),
        f"{opened[0]} / {format_bytes(opened[1])} ({100 * opened[1] / total:.1f}%)",
        f"{open_s * 1e3:.0f} ms", format_bytes(decoder),
        f"{statistics.median(reqs):g} / {format_bytes(med)} ({100 * med / total:.1f}%)",
        f"{max(reqs)} / {format_bytes(max(sent))}",
        format_bytes(statistics.median(bound)),
        f"{format_bytes(in_order)} ({100 * in_order / total:.0f}%)",
        f"{format_bytes(verified)} ({verified / total:.2f}x)", run, uncached,
    ]


def lying_servers() -> None:
    """Print what a range-ignoring server and a metadata-padded archive cost an open."""
    import numpy as np
    from make_golden import with_manifest, write_zip, zip_entries
    from test_remote import big_content

    from tascodec.errors import FormatError
    from tascodec.format import write_archive

    with tempfile.TemporaryDirectory(prefix="bench_remote_") as tmp:
        big = write_archive(big_content(), Path(tmp) / "big.tasz", codes_chunk_bytes=8192)
        entries = zip_entries(big)
        rng = np.random.default_rng(0)
        for i in range(100):
            entries[f"pad{i:03d}/zarr.json"] = b'{"a": 1}\n '
            entries[f"pad{i:03d}/blob"] = rng.bytes(60 << 10)
        padded = write_zip(Path(tmp) / "padded.tasz", with_manifest(entries))
        with RangeServer({"/p.tasz": padded.read_bytes()}) as srv:
            with tascodec.open(srv.url("/p.tasz")):
                pass
            print(f"padded archive ({padded.stat().st_size:,} B; {big.stat().st_size:,} B "
                  f"unpadded): open fetched {srv.bytes_sent:,} B in {srv.gets + srv.heads} "
                  "requests")
    with RangeServer({"/a.tasz": bytes(48 << 20)}, ranges=False) as srv:
        try:
            tascodec.open(srv.url("/a.tasz"))
        except FormatError as exc:
            print(f"range ignored: {str(exc)[:90]}...")
        srv.wait_idle()
        print(f"range ignored (48 MiB body): {srv.gets} request, the server wrote "
              f"{srv.bytes_written:,} B before the reader hung up")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=None)
    ap.add_argument("--codecs", default="raw,mean,inversion")
    ap.add_argument("--recipe", default="quick", help="training recipe of 'inversion'")
    ap.add_argument("--archive", type=Path, nargs="*", default=None)
    ap.add_argument("--epochs", type=int, default=20,
                    help="epochs of the training run (2 DataLoader workers; 0: no run)")
    ap.add_argument("--lying", action="store_true",
                    help="measure two lying servers instead (see the module docstring)")
    args = ap.parse_args(argv)
    print(machine_line())
    if args.lying:
        lying_servers()
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_remote_") as tmp:
        paths = args.archive
        if not paths:
            dataset = args.dataset or SHARED_DATA / "gtea-tcn128"
            if not dataset.is_dir():
                dataset = Path(tmp) / "tiny"
                tascodec.synthesize(dataset, preset="tiny", seed=0)
            print(f"dataset {dataset}")
            paths = encode_archives(dataset, parse_list(args.codecs), args.recipe, Path(tmp))
        rows = [measure(p, args.epochs) for p in paths]
    print()
    print(markdown_table(
        ["archive", "size", "entries", "videos", "open: requests / bytes", "open time",
         "decoder", "one video: requests / bytes (median)", "(max)", "its chunks (median)",
         "every video in order", "verify",
         f"training run ({args.epochs} epochs, 2 workers)", "(2 epochs, no remote cache)"],
        rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
