"""Which entries of a remote archive one request fetches (``ZipReader.prefetch``).

Entries closer than ``COALESCE_GAP`` bytes share a read of at most ``COALESCE_BYTES``, and the
bytes between entries that one prefetch reads are at most ``COALESCE_WASTE`` plus the entries'
own bytes: padding between listed entries cannot make an open download an archive. An entry
that would share no read is not prefetched (``read`` fetches it if it is ever wanted), so a
prefetch never fetches more than the reads it replaces, plus that bound.
"""

from __future__ import annotations

__all__ = ["COALESCE_GAP", "COALESCE_BYTES", "COALESCE_WASTE", "group_spans"]

COALESCE_GAP = 64 << 10  # entries closer than this share one remote read
COALESCE_BYTES = 64 << 20  # at most this per remote read
#: bytes between entries one prefetch may fetch beyond as many as the entries' own (none:
#: a prefetch fetches at most twice its entries' bytes; a decode's chunks are adjacent anyway)
COALESCE_WASTE = 0

Span = tuple[int, int, str]  # (start, end, entry name) in the file


def group_spans(spans: list[Span]) -> list[list[Span]]:
    """``spans`` in file order, grouped into reads of two spans or more (see the module
    docstring); spans alone in their group are left out."""
    groups: list[list[Span]] = []
    waste = COALESCE_WASTE + sum(end - start for start, end, _ in spans)
    for span in sorted(spans):
        g = groups[-1] if groups else None
        gap = span[0] - g[-1][1] if g else 0
        if g and gap <= min(COALESCE_GAP, waste) and span[1] - g[0][0] <= COALESCE_BYTES:
            g.append(span)
            waste -= max(gap, 0)
        else:
            groups.append([span])
    return [g for g in groups if len(g) > 1]
