"""Transcript grammars and segment-length models of the synthetic presets
(``tascodec.synth.grammar``)."""

from __future__ import annotations

import numpy as np


def test_grammar_sampling_respects_its_tables() -> None:
    from tascodec.synth.grammar import END, START, Activity, LengthModel

    rng = np.random.default_rng(0)
    # a chain that can only produce 0 1 0 1 ... and ends after a 1
    act = Activity("x", 1.0, {(START, START): [(0, 1)], (START, 0): [(1, 1)],
                              (0, 1): [(0, 1), (END, 1)], (1, 0): [(1, 1)]},
                   count_quantiles=(4.0, 4.0))
    for _ in range(20):
        t = act.sample(rng, max_segments=50)
        assert t == [0, 1, 0, 1]
    q = np.log(np.array([[2.0, 10.0, 50.0]]))
    lengths = LengthModel(q, tempo_sd=0.0).sample(rng, [0] * 4000, 0.0)
    assert lengths.min() >= 2 and lengths.max() <= 50
    assert abs(np.median(lengths) - 10) <= 1
