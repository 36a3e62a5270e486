"""Byte counts for people and from people (``tascodec.units``): binary units, labelled as such."""

from __future__ import annotations

import pytest

from tascodec.units import format_bytes, parse_bytes


@pytest.mark.parametrize("n, text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.50 KiB"),
                                     (5 << 20, "5.00 MiB"), (3 << 30, "3.00 GiB"),
                                     (3 << 40, "3072.00 GiB")])
def test_format_bytes_labels_binary_units(n, text):
    assert format_bytes(n) == text


def test_format_bytes_takes_the_number_of_decimals():
    assert format_bytes(1536, digits=0) == "2 KiB"
    assert format_bytes((1 << 20) + (1 << 19), digits=1) == "1.5 MiB"


@pytest.mark.parametrize("text, n", [("123", 123), ("30KiB", 30720), (" 30 kib ", 30720),
                                     ("30kB", 30000), ("2MB", 2_000_000), ("1.5MiB", 1572864),
                                     ("1G", 1 << 30), ("2 TiB", 2 << 40), ("7b", 7)])
def test_parse_bytes_reads_what_people_type(text, n):
    assert parse_bytes(text) == n


def test_parse_bytes_is_exact_for_huge_counts():
    assert parse_bytes("1" + "0" * 320 + "TB") == 10 ** 332


@pytest.mark.parametrize("text", ["", "apples", "30 apples", "-3", "1e3", "KiB", "1.5.2MiB"])
def test_parse_bytes_says_none_for_what_is_not_a_count(text):
    assert parse_bytes(text) is None
