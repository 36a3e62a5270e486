"""The synthetic presets: class names, grammars, video naming, folds and feature knobs.

``gtea``, ``50salads`` and ``breakfast`` are driven by tables fitted to the real ground truth
(``tascodec/synth/fitted.json``); ``tiny`` is a small hand-written grammar for tests. Videos are
named like the real ones and listed round-robin over the fold groups (subjects), so a reduced
``videos`` count still spreads over every fold; fold k's test set is group k - 1.

=========  =======  ======  ============  ==============  =====
preset     classes  videos  frames/video  segments/video  folds
=========  =======  ======  ============  ==============  =====
tiny       6        10      ~210          ~6.5            1
gtea       11       28      ~1.1K         ~32             4
50salads   19       50      ~11.5K        ~20             5
breakfast  48       1712    ~2.1K         ~6.8            4
=========  =======  ======  ============  ==============  =====
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Callable

import numpy as np

from ..errors import TascodecError
from .features import FeatureParams
from .grammar import END, START, Activity, Grammar, LengthModel

__all__ = ["Preset", "VideoSpec", "PRESETS", "get_preset"]


@dataclass(frozen=True)
class VideoSpec:
    """Name, activity index, fold group and subject (person) of one video of a preset."""

    name: str
    activity: int
    group: int
    subject: str = ""


@dataclass(frozen=True)
class Preset:
    """Everything that defines a synthetic dataset except the seed and the video count."""

    name: str
    class_names: list[str]
    background: tuple[str, ...]
    grammar_factory: Callable[[], Grammar]
    video_specs: Callable[[], list[VideoSpec]]
    num_folds: int
    num_videos: int
    dim: int
    features: FeatureParams = field(default_factory=FeatureParams)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def background_ids(self) -> tuple[int, ...]:
        return tuple(self.class_names.index(b) for b in self.background)


def _round_robin(specs: list[VideoSpec]) -> list[VideoSpec]:
    """Interleave videos across fold groups so any prefix spreads over the folds."""
    groups: dict[int, list[VideoSpec]] = {}
    for s in specs:
        groups.setdefault(s.group, []).append(s)
    keys = sorted(groups)
    out: list[VideoSpec] = []
    for i in range(max(len(g) for g in groups.values())):
        out.extend(groups[k][i] for k in keys if i < len(groups[k]))
    return out


def _grammar_from_table(table: dict) -> Grammar:
    acts = [
        Activity(
            name,
            float(spec["weight"]),
            {_context(prev): [(int(n), int(c)) for n, c in nxt]
             for prev, nxt in spec["transitions"].items()},
            tuple(spec["count_quantiles"]),
        )
        for name, spec in table["activities"].items()
    ]
    lengths = LengthModel(np.asarray(table["log_length_quantiles"], dtype=np.float64))
    return Grammar(acts, lengths, max_segments=int(table["max_segments"]), meta=table["stats"])


def _context(key: str) -> tuple[int, int]:
    a, b = key.split()
    return int(a), int(b)


@functools.lru_cache(maxsize=1)
def fitted_tables() -> dict:
    """Tables fitted to the real ground truth (``fitted.json``, written by
    ``benchmarks/synth_stats.py --refit``; see ``FITTED_TABLES_DOC``), read on first use."""
    text = resources.files(__package__).joinpath("fitted.json").read_text(encoding="utf-8")
    return json.loads(text)


FITTED_TABLES_DOC = """Per preset: class names; per activity its number of real videos (weight),
quantiles of its segment counts, and trigram counts (``transitions['p2 p1'] = [[next, count],
...]``, -1 = start / end); per class the quantiles of log segment length; the real statistics
the tables were fitted on. GTEA: source ids a01..a10 become ids 0..9 and a00 (the short gaps
between actions) becomes ``background`` (id 10, as in the MS-TCN mapping); the names are
illustrative."""


def _fitted(name: str) -> dict:
    return fitted_tables()[name]


# -- tiny -------------------------------------------------------------------------------------

_TINY_CLASSES = ["background", "take", "open", "pour", "stir", "close"]


def _tiny_grammar() -> Grammar:
    bg, take, opn, pour, stir, close = range(6)
    S = START
    tea = Activity("tea", 1.0, {
        (S, S): [(bg, 1)], (S, bg): [(take, 1)], (bg, take): [(opn, 3), (pour, 1)],
        (take, opn): [(pour, 1)], (opn, pour): [(close, 2), (stir, 1)],
        (take, pour): [(close, 1)], (pour, close): [(stir, 2), (bg, 1)],
        (close, stir): [(bg, 1)], (pour, stir): [(close, 1)], (stir, close): [(bg, 1)],
        (close, bg): [(END, 1)], (stir, bg): [(END, 1)],
    })
    coffee = Activity("coffee", 1.0, {
        (S, S): [(bg, 1)], (S, bg): [(take, 1)], (bg, take): [(pour, 2), (opn, 1)],
        (take, opn): [(pour, 1)], (take, pour): [(stir, 3), (close, 1)],
        (opn, pour): [(stir, 1)], (pour, stir): [(pour, 1), (bg, 2)],
        (stir, pour): [(stir, 1)], (pour, close): [(bg, 1)], (stir, bg): [(END, 1)],
        (close, bg): [(END, 1)],
    })
    # log-length quantiles (min, median, max) per class, in frames
    q = np.log(np.array([[8, 24, 50], [12, 30, 60], [10, 24, 50], [15, 40, 80],
                         [14, 36, 70], [10, 24, 50]], dtype=np.float64))
    return Grammar([tea, coffee], LengthModel(q), max_segments=14, min_segments=5)


def _tiny_videos() -> list[VideoSpec]:
    return [VideoSpec(f"tiny_{i:02d}", i % 2, int(i % 3 != 0), f"p{i % 4}") for i in range(10)]


# -- fitted presets ---------------------------------------------------------------------------

_GTEA_ACTIVITIES = ["Cheese", "CofHoney", "Coffee", "Hotdog", "Pealate", "Peanut", "Tea"]
_BREAKFAST_ACTIVITIES = ["cereals", "coffee", "friedegg", "juice", "milk", "pancake",
                         "salat", "sandwich", "scrambledegg", "tea"]


def _activity_index(table: dict, name: str) -> int:
    return list(table["activities"]).index(name)


def _gtea_videos() -> list[VideoSpec]:
    t = _fitted("gtea")
    return _round_robin([
        VideoSpec(f"S{s}_{act}_C1", _activity_index(t, act), s - 1, f"S{s}")
        for s in range(1, 5) for act in _GTEA_ACTIVITIES
    ])


def _salads_videos() -> list[VideoSpec]:
    return _round_robin([
        VideoSpec(f"rgb-{s:02d}-{take}", 0, (s - 1) // 5, f"{s:02d}")
        for s in range(1, 26) for take in (1, 2)
    ])


def _breakfast_videos() -> list[VideoSpec]:
    t = _fitted("breakfast")
    specs = []
    for cam in ("cam01", "cam02", "webcam01", "stereo01"):
        for p in range(3, 55):
            for act in _BREAKFAST_ACTIVITIES:
                specs.append(VideoSpec(f"P{p:02d}_{cam}_P{p:02d}_{act}",
                                       _activity_index(t, act), min((p - 3) // 13, 3),
                                       f"P{p:02d}"))
    return _round_robin(specs)


def _fitted_preset(name: str, background: tuple[str, ...], videos: Callable[[], list[VideoSpec]],
                   folds: int, num_videos: int, params: FeatureParams) -> Preset:
    return Preset(
        name=name,
        class_names=list(_fitted(name)["classes"]),
        background=background,
        grammar_factory=lambda: _grammar_from_table(_fitted(name)),
        video_specs=videos,
        num_folds=folds,
        num_videos=num_videos,
        dim=2048,
        features=params,
    )


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (one of ``PRESETS``)."""

    if name not in _FACTORIES:
        raise TascodecError(f"unknown synthetic preset {name!r}; choose from {list(PRESETS)}")
    return _FACTORIES[name]()


_FACTORIES: dict[str, Callable[[], Preset]] = {
    "tiny": lambda: Preset("tiny", list(_TINY_CLASSES), ("background",), _tiny_grammar,
                           _tiny_videos, 1, 10, 64,
                           FeatureParams(latent=16, blur_frames=1.5, ar_rho=0.9, noise_sd=0.6,
                                         style_sd=0.5, segment_sd=0.4)),
    # GTEA: 15 fps; 50Salads ground truth: 30 fps; Breakfast: 15 fps.
    "gtea": lambda: _fitted_preset("gtea", ("background",), _gtea_videos, 4, 28,
                                   FeatureParams(blur_frames=4.0, ar_rho=0.98)),
    "50salads": lambda: _fitted_preset("50salads", ("action_start", "action_end"),
                                       _salads_videos, 5, 50,
                                       FeatureParams(blur_frames=8.0, ar_rho=0.99)),
    "breakfast": lambda: _fitted_preset("breakfast", ("SIL",), _breakfast_videos, 4, 1712,
                                        FeatureParams(blur_frames=4.0, ar_rho=0.98)),
}

#: Names of the presets, smallest first.
PRESETS: tuple[str, ...] = tuple(_FACTORIES)
