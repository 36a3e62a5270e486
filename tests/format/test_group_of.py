"""``Archive.group_of`` (issue 28, item 11): the group boundaries are built once per archive,
so a call is a binary search (O(log G)), not a rebuild of a G-long list per video."""

from __future__ import annotations

from pathlib import Path

from tascodec.format import open_archive

V2 = Path(__file__).resolve().parents[1] / "data" / "v2" / "merged.tasz"


class CountingList(list):
    """A list that counts how often it is iterated."""

    iterations = 0

    def __iter__(self):
        CountingList.iterations += 1
        return super().__iter__()


def test_group_of_reads_the_group_list_once():
    with open_archive(V2) as ar:
        assert len(ar.groups) > 1
        expected = [next(g.index for g in ar.groups if v in g.videos) for v in ar.videos]
        ar._layout.groups = CountingList(ar._layout.groups)
        CountingList.iterations = 0
        for _ in range(50):
            got = [ar.group_of(v) for v in ar.videos]
        assert got == expected
        assert [ar.group_of(i) for i in range(len(ar.videos))] == expected
        assert CountingList.iterations <= 1, CountingList.iterations
