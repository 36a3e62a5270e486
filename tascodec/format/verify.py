"""``Archive.verify``: read every entry and every chunk of an archive and check every checksum.

Two passes, each in offset order: the ZIP CRC-32 (and, for 1.1, the manifest digest) of every
entry, metadata included; then every chunk of every array (CRC-32C, exact decompressed size).
On a remote source each pass reads the archive in a few large requests
(``ZipReader.prefetch``), so a URL is fetched twice over; a local file is read as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

from ..errors import TascodecError
from .archive_layout import Layout
from .arrays import chunk_keys, check_chunk
from .container import COALESCE_BYTES, ZipReader

__all__ = ["verify_archive"]


def _batches(zr: ZipReader, names: list[str]) -> Iterator[list[str]]:
    """``names`` in runs of at most ``COALESCE_BYTES`` stored bytes, each prefetched."""
    run: list[str] = []
    size = 0
    for name in names:
        entry_size = zr.entry_size(name) if name in zr else 0
        if run and size + entry_size > COALESCE_BYTES:
            zr.prefetch(run, max_size=COALESCE_BYTES)
            yield run
            run, size = [], 0
        run.append(name)
        size += entry_size
    if run:
        zr.prefetch(run, max_size=COALESCE_BYTES)
        yield run


def verify_archive(
    zr: ZipReader,
    fmt: ModuleType,
    layout: Layout,
    *,
    check_scale: Callable[[], object],
    progress: bool = False,
) -> list[str]:
    """The problems found in the archive behind ``zr`` (``fmt``: its version's reader module;
    ``check_scale``: reads and checks the int8 code scales there are)."""
    from tqdm.auto import tqdm

    problems: list[str] = []
    for batch in _batches(zr, zr.names):  # ZIP CRC-32 of every entry, metadata included
        for name in batch:
            try:
                zr.read(name)
            except TascodecError as exc:
                problems.append(str(exc))
    try:
        metas = fmt.array_metas(zr, layout)
    except TascodecError as exc:
        return problems + [str(exc)]
    jobs = [(m, i, k) for m in metas for i, k in enumerate(chunk_keys(m))]
    done = 0
    with tqdm(total=len(jobs), desc="verify", unit="chunk", disable=not progress) as bar:
        for batch in _batches(zr, [k for _, _, k in jobs]):
            for meta, i, _ in jobs[done : done + len(batch)]:
                try:
                    check_chunk(zr, meta, i)
                except TascodecError as exc:
                    problems.append(str(exc))
            done += len(batch)
            bar.update(len(batch))
    expected = {k for m in metas for k in chunk_keys(m)}
    for name in zr.names:
        top = name.split("/", 1)[0]
        if "/c/" in name and top in fmt.PARTS and name not in expected:
            problems.append(f"{zr.path}: unexpected chunk entry {name!r}")
    try:
        check_scale()
    except TascodecError as exc:
        problems.append(str(exc))
    return problems
