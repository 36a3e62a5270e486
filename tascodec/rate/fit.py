"""Fitting an archive under a hard byte limit by measuring it (NumPy-free, torch-free).

The byte model (``rate.byte_model``) estimates the container's bytes; only the written file says
them exactly. Every place that must stay within a limit (``encode(max_bytes=...)``,
``append``'s growth limit, the benchmarks' budgets) runs the same loop, here:

1. a *trial* makes something under a budget and measures it (``Trial``: the bytes that count
   against the limit, and the bytes of what the budget governs);
2. when it is over the limit, the budget shrinks by the excess plus 1% (at least 256 bytes),
   from what the trial actually produced (``shrunk_budget``), and the trial runs again, at
   most ``SIZE_ATTEMPTS`` trials;
3. a budget below rate control's floor (``BudgetTooSmallError`` from the codec) is tried at
   the floor itself (``at_budget_or_floor``); when even that is over the limit, the error names
   the least that fits, the smallest size measured plus ``HEADER_SLACK`` (the header's timing
   figures change the same content's size by a few bytes between runs).

Nothing here writes the user's file: callers commit the fitting trial's result themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..errors import BudgetTooSmallError, TascodecError

__all__ = ["HEADER_SLACK", "SIZE_ATTEMPTS", "Trial", "at_budget_or_floor", "fit_within",
           "shrunk_budget"]

#: bytes added to a measured smallest archive when naming it as the minimum budget: the same
#: content's header differs by a few bytes from run to run (its timing figures)
HEADER_SLACK = 256
#: trials allowed before an over-the-limit result is given up on
SIZE_ATTEMPTS = 3

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Trial(Generic[T]):
    """What one run under a budget made: ``result`` (the caller's), ``measured`` (the bytes
    that count against the limit) and ``produced`` (the bytes of what the budget governs;
    the same as ``measured`` unless a part is measured by what it adds to a whole)."""

    result: T
    measured: int
    produced: int


def shrunk_budget(budget: int, trial: Trial[object], limit: int) -> int:
    """The next budget after ``trial`` came out over ``limit``: below what it produced (it may
    sit well under its budget) by the excess plus 1% of the measured size (at least 256)."""
    return min(budget, trial.produced) - (trial.measured - limit) - max(256, trial.measured // 100)


def at_budget_or_floor(run: Callable[[int], R], budget: int, attempts: int = 3
                       ) -> tuple[R, int]:
    """``(run(budget), budget)``; when ``BudgetTooSmallError`` names a larger minimum (rate
    control's floor, then the size measured there when the byte model underestimates it),
    ``run`` at that instead, at most ``attempts`` runs in all; returns the budget it ran at."""
    for attempt in range(attempts):
        try:
            return run(budget), budget
        except BudgetTooSmallError as exc:
            if exc.minimum_bytes <= budget or attempt == attempts - 1:
                raise
            budget = exc.minimum_bytes
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def fit_within(trial: Callable[[int], Trial[T]], limit: int, budget: int, *,
               too_small: Callable[[int, int], str], not_met: Callable[[int], str],
               first: Trial[T] | None = None, attempts: int = SIZE_ATTEMPTS) -> Trial[T]:
    """The first trial whose ``measured`` is at most ``limit`` (see the module docstring).

    ``trial(budget)`` makes and measures; ``first``: the result of ``trial(budget)`` when the
    caller has it already. Errors: ``BudgetTooSmallError`` with ``too_small(smallest measured,
    least)`` when the floor's trial is over the limit (``minimum_bytes`` = least), else
    ``TascodecError(not_met(last measured))`` after ``attempts`` trials over it.
    """
    smallest: int | None = None
    current = first
    for attempt in range(attempts):
        if current is None:
            try:
                current = trial(budget)
            except BudgetTooSmallError as exc:  # below the floor: the floor's trial decides
                current, budget = at_budget_or_floor(trial, exc.minimum_bytes, attempts=2)
                smallest = current.measured if smallest is None else min(smallest,
                                                                          current.measured)
                if current.measured <= limit:
                    return current
                least = max(limit + 1, smallest + HEADER_SLACK)
                raise BudgetTooSmallError(too_small(current.measured, least), least) from None
        smallest = current.measured if smallest is None else min(smallest, current.measured)
        if current.measured <= limit:
            return current
        if attempt == attempts - 1:
            break
        budget = shrunk_budget(budget, current, limit)
        current = None
    assert current is not None
    raise TascodecError(not_met(current.measured))
