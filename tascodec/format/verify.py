"""``Archive.verify``: read every entry and every chunk of an archive and check every checksum.

One pass in the order of the entries: the ZIP CRC-32 (and, for 1.1, the manifest digest) of
every entry, metadata included, and for a chunk entry its chunk checks (CRC-32C, exact
decompressed size) from the same bytes. On a remote source the archive is read in a few
large requests (``ZipReader.prefetch``), each byte once; a local file is read as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

from tqdm.auto import tqdm

from ..errors import TascodecError
from .archive_layout import Layout
from .arrays import chunk_keys, check_chunk
from .coalesce import COALESCE_BYTES
from .container import ZipReader

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


def _failures(check: Callable[..., object], *args: object) -> list[str]:
    """``[message]`` if ``check(*args)`` raises a ``TascodecError``, else ``[]``."""
    try:
        check(*args)
    except TascodecError as exc:
        return [str(exc)]
    return []


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

    problems: list[str] = []
    try:
        metas, broken = fmt.array_metas(zr, layout), None  # metadata documents (small)
    except TascodecError as exc:
        metas, broken = [], str(exc)
    jobs = {k: (m, i) for m in metas for i, k in enumerate(chunk_keys(m))}
    order = zr.names  # in file order: each prefetched run is one read
    order.sort(key=lambda n: zr.info(n).header_offset)
    with tqdm(total=len(order), desc="verify", unit="entry", disable=not progress) as bar:
        for batch in _batches(zr, order):
            with zr.holding():  # one fetch serves both checks of an entry
                for name in batch:
                    problems += _failures(zr.read, name)  # ZIP CRC-32, manifest digest
                    if name in jobs:
                        problems += _failures(check_chunk, zr, *jobs[name])
            bar.update(len(batch))
    for key in jobs:  # chunks the metadata names but the file lacks
        if key not in zr:
            problems += _failures(check_chunk, zr, *jobs[key])
    if broken is not None:
        return problems + [broken]
    expected = set(jobs)
    for name in zr.names:
        top = name.split("/", 1)[0]
        if "/c/" in name and top in fmt.PARTS and name not in expected:
            problems.append(f"{zr.path}: unexpected chunk entry {name!r}")
    try:
        check_scale()
    except TascodecError as exc:
        problems.append(str(exc))
    return problems
