"""Which entries of a remote archive one request fetches (``tascodec.format.coalesce``): close
entries share a read, the bytes between them stay within their own, a read stays bounded."""

from __future__ import annotations

from tascodec.format.coalesce import COALESCE_BYTES, COALESCE_GAP, group_spans


def test_adjacent_entries_share_one_read_in_file_order():
    spans = [(20, 30, "c"), (0, 10, "a"), (10, 20, "b")]
    assert group_spans(spans) == [[(0, 10, "a"), (10, 20, "b"), (20, 30, "c")]]


def test_an_entry_that_would_read_alone_is_left_out():
    far = (10 * COALESCE_GAP, 10 * COALESCE_GAP + 5, "far")
    assert group_spans([(0, 10, "a"), (10, 20, "b"), far]) == [[(0, 10, "a"), (10, 20, "b")]]
    assert group_spans([(0, 10, "a")]) == [] and group_spans([]) == []


def test_the_gaps_read_stay_within_the_entries_own_bytes():
    # 31 bytes of entries: gaps of 5 and 15 fit that allowance, the last gap of 20 does not
    spans = [(0, 10, "a"), (15, 25, "b"), (40, 50, "c"), (70, 71, "d")]
    assert group_spans(spans) == [[(0, 10, "a"), (15, 25, "b"), (40, 50, "c")]]


def test_a_read_holds_at_most_coalesce_bytes():
    assert group_spans([(0, 10, "a"), (10, COALESCE_BYTES + 1, "b")]) == []
    assert group_spans([(0, 10, "a"), (10, COALESCE_BYTES, "b")]) == [
        [(0, 10, "a"), (10, COALESCE_BYTES, "b")]]
