"""The synthetic presets (``tascodec.synth.presets``): by name, their sizes, classes and
videos."""

from __future__ import annotations

import pytest

from tascodec.errors import TascodecError
from tascodec.synth import PRESETS, get_preset
from tascodec.synth.presets import fitted_tables


def test_default_dim_is_2048() -> None:
    assert get_preset("gtea").dim == 2048 and get_preset("breakfast").dim == 2048
    assert get_preset("50salads").dim == 2048 and get_preset("tiny").dim == 64
    assert [get_preset(p).num_classes for p in ("gtea", "50salads", "breakfast")] == [11, 19, 48]
    assert [get_preset(p).num_videos for p in ("gtea", "50salads", "breakfast")] == [28, 50, 1712]


def test_presets_by_name_smallest_first() -> None:
    assert PRESETS == ("tiny", "gtea", "50salads", "breakfast")
    with pytest.raises(TascodecError, match="unknown synthetic preset 'kinetics'; choose from"):
        get_preset("kinetics")


@pytest.mark.parametrize("name", ["gtea", "50salads", "breakfast"])
def test_fitted_presets_take_the_fitted_classes_and_spread_videos_over_the_folds(name) -> None:
    preset = get_preset(name)
    assert preset.class_names == fitted_tables()[name]["classes"]
    assert all(preset.class_names[i] in preset.background for i in preset.background_ids())
    specs = preset.video_specs()
    assert len({s.name for s in specs}) == len(specs) >= preset.num_videos
    assert {s.group for s in specs[:preset.num_folds]} == set(range(preset.num_folds))
