"""tascodec.append, TaszDataset over several archives (issue 15 items 2 and 4)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import tascodec
from tascodec.errors import BudgetTooSmallError, TascodecError
from tascodec.format import open_archive
from tascodec.dataset.layout import StandardDataset

from testkit import kill_after, spawn


@pytest.fixture(scope="module")
def base(tiny_dataset, tmp_path_factory):
    """An archive of the tiny dataset's first 4 videos, float32 codes (quick recipe)."""
    out = tmp_path_factory.mktemp("append") / "base.tasz"
    videos = StandardDataset(tiny_dataset).videos
    tascodec.encode(tiny_dataset, out, split=None, videos=videos[:4], codec="inversion",
                    recipe="quick",
                    code_dtype="float32", progress=False, device="cpu")
    return out, videos


@pytest.mark.slow
def test_append_reuse_one_by_one_equals_one_go(base, tiny_dataset, tmp_path):
    path, videos = base
    one, two = tmp_path / "one.tasz", tmp_path / "two.tasz"
    shutil.copy(path, one)
    shutil.copy(path, two)
    tascodec.append(one, tiny_dataset, [videos[4]], decoder="reuse", device="cpu")
    tascodec.append(one, tiny_dataset, [videos[5]], decoder="reuse", device="cpu")
    tascodec.append(two, tiny_dataset, videos[4:6], decoder="reuse", device="cpu")
    with open_archive(one) as a, open_archive(two) as b, open_archive(path) as orig:
        assert a.format_version == "2.0" and a.num_decoders == 1 and len(a.groups) == 3
        for v in orig.videos:  # stored videos untouched
            np.testing.assert_array_equal(a.codes(v), orig.codes(v))
            np.testing.assert_array_equal(a.decode(v), orig.decode(v))
        for v in videos[4:6]:
            np.testing.assert_allclose(a.decode(v), b.decode(v), rtol=1e-4, atol=1e-4)
            assert a.group_of(v) > 0 and a.groups[a.group_of(v)].decoder == 0


def test_append_refuses_clashes_and_keeps_the_file(base, tiny_dataset, tmp_path):
    path, videos = base
    copy = tmp_path / "c.tasz"
    shutil.copy(path, copy)
    before = copy.read_bytes()
    with pytest.raises(TascodecError, match="already in"):
        tascodec.append(copy, tiny_dataset, [videos[0]])
    with pytest.raises(TascodecError, match="decoder must be"):
        tascodec.append(copy, tiny_dataset, [videos[5]], decoder="other")
    assert copy.read_bytes() == before


def test_append_reuse_to_a_mean_inversion_archive(tiny_dataset, tmp_path):
    """A ``mean+inversion`` group's decoder inverts the new videos' residual frames; their
    segment means are stored with them (decode kind ``"mlp+offset"``)."""
    from tascodec.codecs.mean_inversion import segment_means
    from tascodec.segments import labels_to_segments

    ds = StandardDataset(tiny_dataset)
    path = tmp_path / "mi.tasz"
    tascodec.encode(tiny_dataset, path, split=None, videos=ds.videos[:4], codec="mean+inversion", gamma=1.0,
                    k=2, recipe="quick", progress=False, device="cpu")
    before = open_archive(path)
    stored = {v: before.decode(v) for v in before.videos}
    before.close()
    tascodec.append(path, tiny_dataset, [ds.videos[4]], decoder="reuse", device="cpu")
    with open_archive(path) as ar:
        assert ar.format_version == "2.1" and len(ar.groups) == 2 and ar.num_decoders == 1
        assert [g.decode_kind for g in ar.groups] == ["mlp+offset", "mlp+offset"]
        for v, x in stored.items():
            np.testing.assert_array_equal(ar.decode(v), x)
        v = ds.videos[4]
        x, lengths = ds.features(v).T, labels_to_segments(ds.labels(v)).length
        got = ar.decode(v)
        moved = segment_means(got - x, lengths)
        spread = np.abs(segment_means(x, lengths)).max(0) / 127  # the int8 step per channel
        assert (np.abs(moved) <= spread + 0.05 * np.abs(x).max()).all()
        mean_error = np.square(x - np.repeat(segment_means(x, lengths), lengths, 0)).mean()
        assert np.square(got - x).mean() < mean_error


@pytest.mark.slow
def test_append_new_decoder_and_replay_dataset(base, tiny_dataset, tmp_path):
    from torch.utils.data import ConcatDataset, DataLoader

    from tascodec.loading.torch_data import LengthGroupedSampler, TaszDataset

    path, videos = base
    grown = tmp_path / "g.tasz"
    shutil.copy(path, grown)
    tascodec.append(grown, tiny_dataset, videos[4:7], decoder="new", codec="inversion",
                    recipe="quick")
    with open_archive(grown) as ar:
        assert ar.num_decoders == 2 and ar.verify() == []
        for v in videos[4:7]:
            assert ar.group_of(v) == 1
    ds = TaszDataset([path, grown], None, groups={1: [1]})
    assert len(ds) == 4 + 3
    assert ds.provenance(5) == (grown, 1) and ds.provenance(0) == (path, 0)
    x, y, name = ds[5]
    assert name == videos[5] and x.shape[1] == y.shape[0]
    cat = ConcatDataset([ds, TaszDataset(grown, None)])
    sampler = LengthGroupedSampler(cat, batch_size=2)
    loader = DataLoader(ds, batch_size=2, collate_fn=ds.collate, num_workers=2)
    assert sum(len(b.names) for b in loader) == len(ds) and len(sampler) == len(cat)


def test_append_new_budget_bounds_the_growth(base, tiny_dataset, tmp_path):
    """max_bytes of decoder="new" is what the archive may grow by: the container's fixed part
    is paid once, so nearly all of it goes to the new group; a budget that cannot hold the
    group is refused in the growth's terms and the archive is left as it was."""
    from tascodec.rate import FIXED_BYTES

    path, videos = base
    grown = tmp_path / "b.tasz"
    shutil.copy(path, grown)
    before = grown.stat().st_size
    tascodec.append(grown, tiny_dataset, videos[4:7], decoder="new", codec="inversion", recipe="quick",
                    max_bytes=20_000, device="cpu")
    added = grown.stat().st_size - before
    assert 20_000 - FIXED_BYTES // 2 < added <= 20_000
    with open_archive(grown) as ar:
        assert ar.verify() == [] and [ar.group_of(v) for v in videos[4:7]] == [1, 1, 1]
    copy = tmp_path / "small.tasz"
    shutil.copy(path, copy)
    kept = copy.read_bytes()
    with pytest.raises(BudgetTooSmallError, match=r"max_bytes=2000 \(the bytes the append may add") as small:
        tascodec.append(copy, tiny_dataset, videos[4:7], decoder="new", codec="inversion", recipe="quick",
                        max_bytes=2_000, device="cpu")
    assert copy.read_bytes() == kept
    assert small.value.minimum_bytes > 2_000  # the budget to ask for instead: it fits
    tascodec.append(copy, tiny_dataset, videos[4:7], decoder="new", codec="inversion", recipe="quick",
                    max_bytes=small.value.minimum_bytes, device="cpu")
    assert copy.stat().st_size - len(kept) <= small.value.minimum_bytes


def test_cli_append_takes_the_growth_budget(base, tiny_dataset, tmp_path, capsys):
    from tascodec.cli import main

    path, videos = base
    grown = tmp_path / "cli.tasz"
    shutil.copy(path, grown)
    before = grown.stat().st_size
    argv = ["append", str(grown), str(tiny_dataset), "--videos", *videos[4:7], "--decoder",
            "new", "--codec", "inversion", "--recipe", "quick", "--device", "cpu"]
    with pytest.raises(SystemExit) as both:
        main([*argv, "--max-bytes", "20000", "--target-ratio", "10"])
    assert both.value.code == 2 and "not allowed with" in capsys.readouterr().err
    assert main([*argv, "--max-bytes", "20000"]) == 0
    assert before < grown.stat().st_size <= before + 20_000
    assert "2 group(s)" in capsys.readouterr().out


@pytest.mark.parametrize("delay", [0.0, 0.5])
def test_killed_append_leaves_the_archive_byte_identical(base, tiny_dataset, tmp_path, delay):
    path, videos = base
    copy = tmp_path / "k.tasz"
    shutil.copy(path, copy)
    before = copy.read_bytes()
    code = (f"import tascodec\n"
            f"tascodec.append({str(copy)!r}, {str(tiny_dataset)!r}, {videos[4:6]!r}, "
            f"device='cpu')\n")
    killed = kill_after(spawn(code), delay)
    after = copy.read_bytes()
    if killed or after == before:
        assert after == before
    with open_archive(copy) as ar:
        assert ar.verify() == []
