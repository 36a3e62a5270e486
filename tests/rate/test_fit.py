"""rate.fit: the one loop that fits an archive under a hard byte limit by measuring it."""

from __future__ import annotations

import pytest

from tascodec.errors import BudgetTooSmallError, TascodecError
from tascodec.rate.fit import (HEADER_SLACK, SIZE_ATTEMPTS, Trial, at_budget_or_floor,
                               fit_within, shrunk_budget)


def _messages():
    return dict(too_small=lambda size, least: f"small {size} {least}",
                not_met=lambda size: f"not met {size}")


class Sizer:
    """A codec whose file is its budget plus ``overhead`` bytes; budgets below ``floor``
    raise BudgetTooSmallError naming ``floor`` (the byte model's estimate)."""

    def __init__(self, overhead: int, floor: int = 0, produced_share: float = 1.0) -> None:
        self.overhead, self.floor, self.share = overhead, floor, produced_share
        self.budgets: list[int] = []

    def __call__(self, budget: int) -> Trial[int]:
        self.budgets.append(budget)
        if budget < self.floor:
            raise BudgetTooSmallError(f"below {self.floor}", self.floor)
        size = budget + self.overhead
        return Trial(budget, size, int(size * self.share))


def test_the_budget_shrinks_by_the_excess_until_it_fits():
    sizer = Sizer(overhead=1000)
    got = fit_within(sizer, 10_000, 10_000, **_messages())
    assert got.measured <= 10_000
    # the first trial is over by 1000: the budget shrinks by that plus 1% of the size
    assert sizer.budgets == [10_000, 10_000 - 1000 - 256]
    assert shrunk_budget(10_000, Trial(None, 11_000, 11_000), 10_000) == sizer.budgets[1]


def test_a_first_result_is_not_made_again():
    sizer = Sizer(overhead=0)
    first = Trial("given", 900, 900)
    assert fit_within(sizer, 1000, 1000, first=first, **_messages()) is first
    assert sizer.budgets == []


def test_shrinks_from_what_was_produced_not_the_budget():
    """A part that sits well under its budget (every frame has a code) shrinks from its size."""
    assert shrunk_budget(50_000, Trial(None, 12_000, 8_000), 10_000) == 8_000 - 2_000 - 256


def test_below_the_floor_the_floor_is_tried_and_its_size_named():
    sizer = Sizer(overhead=500, floor=5_000)
    with pytest.raises(BudgetTooSmallError, match=f"small 5500 {5500 + HEADER_SLACK}") as info:
        fit_within(sizer, 2_000, 2_000, **_messages())
    assert info.value.minimum_bytes == 5_500 + HEADER_SLACK
    assert sizer.budgets == [2_000, 5_000]


def test_the_floor_is_taken_when_it_fits():
    sizer = Sizer(overhead=0, floor=5_000)
    got = fit_within(sizer, 6_000, 4_000, **_messages())
    assert got.result == 5_000 and sizer.budgets == [4_000, 5_000]


def test_not_met_after_the_attempts():
    class Stubborn:
        def __init__(self):
            self.calls = 0

        def __call__(self, budget):
            self.calls += 1
            return Trial(budget, 10_000, 10_000)  # never shrinks

    stubborn = Stubborn()
    with pytest.raises(TascodecError, match="not met 10000"):
        fit_within(stubborn, 5_000, 5_000, **_messages())
    assert stubborn.calls == SIZE_ATTEMPTS


def test_at_budget_or_floor_follows_a_larger_minimum():
    sizer = Sizer(overhead=0, floor=700)
    assert at_budget_or_floor(sizer, 100) == (Trial(700, 700, 700), 700)
    assert at_budget_or_floor(sizer, 900)[1] == 900
    with pytest.raises(BudgetTooSmallError):
        at_budget_or_floor(sizer, 100, attempts=1)
