"""Transcript grammars and segment-length models of the synthetic presets.

A :class:`Grammar` is a second-order Markov chain over actions per activity (e.g. "coffee" in
Breakfast), with start and end states, fitted by counting trigrams of real transcripts (second
order so that a background segment "knows" whether it opens or closes a video). Segment lengths
follow per-class empirical quantiles of log length, shifted by a per-video tempo factor
(people who are slow are slow at every step).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Activity", "LengthModel", "Grammar", "START", "END"]

START = -1  # the "previous action" of a transcript's first segment
END = -1  # the "next action" that ends a transcript


@dataclass(frozen=True)
class Activity:
    """Trigram counts of one activity: ``transitions[(prev2, prev1)] = [(next, count), ...]``.

    ``START`` pads the context before the first action; ``next = END`` ends the transcript.
    ``count_quantiles`` (Q,): quantiles of the real segment counts; a draw first picks a
    target count from them and keeps the chain's transcripts whose length is close to it (a
    Markov chain alone gives a near-geometric spread of transcript lengths).
    """

    name: str
    weight: float
    transitions: dict[tuple[int, int], list[tuple[int, int]]]
    count_quantiles: tuple[float, ...] = ()
    _table: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def _options(self, context: tuple[int, int]) -> tuple[list[int], np.ndarray] | None:
        if not self._table:
            for ctx, opts in self.transitions.items():
                counts = np.array([c for _, c in opts], dtype=np.float64)
                self._table[ctx] = ([n for n, _ in opts], np.cumsum(counts) / counts.sum())
        return self._table.get(context)

    def _walk(self, rng: np.random.Generator, limit: int) -> list[int]:
        out: list[int] = []
        prev = (START, START)
        while len(out) <= limit:
            options = self._options(prev)
            if options is None:
                break
            nxt, cdf = options
            choice = nxt[min(int(np.searchsorted(cdf, rng.random(), side="right")), len(nxt) - 1)]
            if choice == END:
                break
            out.append(choice)
            prev = (prev[1], choice)
        return out

    def sample(self, rng: np.random.Generator, max_segments: int, min_segments: int = 1) -> list[int]:
        """A transcript (action ids, S of them with ``min_segments <= S <= max_segments``)."""
        lo, hi = min_segments, max_segments
        if self.count_quantiles:
            q = np.asarray(self.count_quantiles, dtype=np.float64)
            target = float(np.interp(rng.random(), np.linspace(0, 1, q.size), q))
            tol = max(1.0, 0.1 * target)
            lo, hi = max(lo, int(np.ceil(target - tol))), min(hi, int(np.floor(target + tol)))
        best: list[int] = []
        for _ in range(500):
            out = self._walk(rng, max_segments)
            if lo <= len(out) <= hi:
                return out
            if min_segments <= len(out) <= max_segments and (
                not best or abs(len(out) - (lo + hi) / 2) < abs(len(best) - (lo + hi) / 2)
            ):
                best = out
        return best or (out[:max_segments] if out else [0])


@dataclass(frozen=True)
class LengthModel:
    """Segment lengths per class from quantiles of log length.

    ``log_quantiles`` (A, Q): quantiles at probabilities ``linspace(0, 1, Q)`` of each class's
    log segment length; a draw interpolates them at a uniform ``u``.
    """

    log_quantiles: np.ndarray
    tempo_sd: float = 0.1

    def sample(self, rng: np.random.Generator, actions: list[int], tempo: float) -> np.ndarray:
        """Lengths (S,) int64 >= 1 for a transcript; ``tempo`` is the video's log-scale offset."""
        a = np.asarray(actions, dtype=np.int64)
        q = self.log_quantiles[a]  # (S, Q)
        pos = rng.random(a.size) * (q.shape[1] - 1)
        i = np.minimum(pos.astype(np.int64), q.shape[1] - 2)
        frac = pos - i
        rows = np.arange(a.size)
        log_len = q[rows, i] * (1 - frac) + q[rows, i + 1] * frac
        return np.maximum(np.rint(np.exp(log_len + tempo)), 1).astype(np.int64)


@dataclass(frozen=True)
class Grammar:
    """Activities (with sampling weights) and the length model of one preset."""

    activities: list[Activity]
    lengths: LengthModel
    max_segments: int = 200
    min_segments: int = 1
    meta: dict = field(default_factory=dict)

    def sample_video(self, rng: np.random.Generator, activity: int) -> tuple[np.ndarray, np.ndarray]:
        """(actions (S,), lengths (S,)) int64 of one video of the given activity."""
        actions = self.activities[activity].sample(rng, self.max_segments, self.min_segments)
        sd = self.lengths.tempo_sd
        tempo = float(sd * rng.standard_normal() - sd**2 / 2)  # E[exp(tempo)] = 1
        lengths = self.lengths.sample(rng, actions, tempo)
        return np.asarray(actions, dtype=np.int64), lengths
