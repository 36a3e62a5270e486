"""The fidelity harness (``evaluate_archive``) and ``tascodec eval``: results, wiring, errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from tascodec.errors import TascodecError

pytest.importorskip("tascodec.harness.metrics", reason="tascodec.harness.metrics (evaluate_segmentation) not built yet")
pytest.importorskip("tascodec.dataset.layout", reason="tascodec.dataset.layout (StandardDataset) not built yet")

from tascodec.harness import evaluate as ev  # noqa: E402
from tascodec.cli import main  # noqa: E402
from tascodec.harness import fidelity_result as fr  # noqa: E402
from tascodec.harness.evaluate import evaluate_archive  # noqa: E402
from tascodec.harness.fidelity_result import METRIC_KEYS, FidelityResult, format_results  # noqa: E402

CLASSES = ["bg", "cut", "pour"]
TRAIN = ["t0", "t1", "t2", "t3"]
TEST = ["s0", "s1"]
DIM = 6
# A smaller MS-TCN keeps these tests fast; the default architecture runs in the tiny-preset test.
SMALL = {"num_stages": 2, "num_layers": 3, "num_f_maps": 8}


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> Path:
    """A hand-made dataset in the standard layout: 4 train / 2 test videos, D = 6, A = 3."""
    root = tmp_path_factory.mktemp("small") / "small"
    for sub in ("features", "groundTruth", "splits"):
        (root / sub).mkdir(parents=True)
    (root / "mapping.txt").write_text("".join(f"{i} {n}\n" for i, n in enumerate(CLASSES)))
    rng = np.random.default_rng(0)
    proto = rng.normal(size=(len(CLASSES), DIM)).astype(np.float32)
    for i, video in enumerate(TRAIN + TEST):
        t = 30 + 5 * i
        labels = np.repeat([0, 1, 2, 0], [t // 4, t // 4, t // 4, t - 3 * (t // 4)])
        x = proto[labels].T + 0.3 * rng.normal(size=(DIM, t)).astype(np.float32)
        np.save(root / "features" / f"{video}.npy", x.astype(np.float32))
        (root / "groundTruth" / f"{video}.txt").write_text("".join(CLASSES[a] + "\n" for a in labels))
    (root / "splits" / "train.split1.bundle").write_text("".join(v + ".txt\n" for v in TRAIN))
    (root / "splits" / "test.split1.bundle").write_text("".join(v + ".txt\n" for v in TEST))
    return root


class FakeArchive:
    """Stands in for ``tascodec.open``: 'decodes' to the original features (T, D) plus an offset."""

    def __init__(self, root: Path, videos: list[str], *, classes=CLASSES, width=DIM, splits=None):
        from tascodec.dataset.layout import StandardDataset

        self.ds = StandardDataset(root)
        self.videos, self.class_names, self.width = videos, list(classes), width
        self.splits = splits or {}
        self.codec_config = {"id": "raw"}
        self.decoded: list[str] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def labels(self, video):
        return self.ds.labels(video)

    def num_frames(self, video):
        return self.ds.num_frames(video)

    def decode(self, video):
        self.decoded.append(video)
        x = np.asarray(self.ds.features(video)).T + 0.01
        return np.pad(x, ((0, 0), (0, self.width - DIM))) if self.width > DIM else x


@pytest.fixture
def fake_archive(small_dataset, tmp_path, monkeypatch):
    """Install a FakeArchive factory; returns (archive path, holder of the last archive)."""
    path = tmp_path / "fake.tasz"
    path.write_bytes(b"x" * 1234)
    holder: dict = {"kwargs": {}}

    def open_fake(p):
        holder["archive"] = FakeArchive(small_dataset, **holder["kwargs"])
        return holder["archive"]

    monkeypatch.setattr(ev, "_open_archive", open_fake)
    return path, holder


def _check_result(r: FidelityResult, seeds) -> None:
    assert r.seeds == tuple(seeds)
    assert len(r.per_seed) == len(seeds) and len(r.train_seconds) == len(seeds)
    assert all(t > 0 for t in r.train_seconds) and r.seconds >= sum(r.train_seconds)
    for key in METRIC_KEYS:
        assert 0.0 <= r.mean[key] <= 100.0
        assert r.std[key] >= 0.0
        values = [run[key] for run in r.per_seed]
        assert r.mean[key] == pytest.approx(np.mean(values))
    assert set(r.by_convention) == {"asformer", "mstcn"}
    assert r.by_convention[r.convention]["per_seed"] == r.per_seed
    for scores in r.by_convention.values():  # the same models: only segment ends differ
        assert [s["acc"] for s in scores["per_seed"]] == [s["acc"] for s in r.per_seed]


def test_original_on_hand_made_dataset(small_dataset) -> None:
    r = evaluate_archive(None, small_dataset, seeds=(0, 1), epochs=2, progress=False, device="cpu",
                         mstcn_options=SMALL)
    _check_result(r, (0, 1))
    assert r.name == "original" and r.codec is None and r.split == "split1"
    frames = sum(30 + 5 * i for i in range(4))
    assert r.original_bytes == r.storage_bytes == frames * DIM * 4
    assert r.ratio == 1.0 and r.train_frames == frames
    assert (r.train_videos, r.test_videos) == (4, 2)
    assert r.std["acc"] == pytest.approx(np.std([s["acc"] for s in r.per_seed], ddof=1))
    d = json.loads(json.dumps(r.to_dict()))
    assert set(METRIC_KEYS) <= set(d["mean"]) and d["compression"] == 1.0
    table = format_results([r])
    assert "| original |" in table and "F1@50" in table


def test_original_on_tiny_preset(request) -> None:
    pytest.importorskip("tascodec.synth", reason="tascodec.synth not built yet")
    tiny = request.getfixturevalue("tiny_dataset")
    r = evaluate_archive(None, tiny, seeds=(0,), epochs=1, progress=False, device="cpu",
                         mstcn_options=SMALL)
    _check_result(r, (0,))
    assert set(r.mean) == set(METRIC_KEYS) and r.std == {k: 0.0 for k in METRIC_KEYS}


def test_archive_wiring(fake_archive, small_dataset) -> None:
    path, holder = fake_archive
    holder["kwargs"] = {"videos": TRAIN[:3] + TEST[:1]}
    r = evaluate_archive(path, small_dataset, seeds=(3,), epochs=1, progress=False, device="cpu",
                         mstcn_options=SMALL)
    _check_result(r, (3,))
    assert r.name == "fake.tasz" and r.codec == {"id": "raw"}
    assert r.storage_bytes == 1234
    assert r.excluded_videos == ["s0"]
    assert r.train_videos == 3 and r.train_frames == 30 + 35 + 40
    original = sum(30 + 5 * i for i in range(4)) * DIM * 4
    assert r.ratio == pytest.approx(original / 1234)  # the factor, as info says it
    assert r.storage_fraction == pytest.approx(1234 / original)
    assert set(holder["archive"].decoded) == set(TRAIN[:3])  # the test video is never decoded


def test_archive_recorded_train_split_restricts(fake_archive, small_dataset) -> None:
    path, holder = fake_archive
    holder["kwargs"] = {"videos": TRAIN, "splits": {"train.split1": ["t1", "t2"]}}
    r = evaluate_archive(path, small_dataset, seeds=(0,), epochs=1, progress=False, device="cpu",
                         mstcn_options=SMALL)
    assert r.train_videos == 2 and sorted(r.excluded_videos) == ["t0", "t3"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"videos": TEST}, "no training videos"),
        ({"videos": TRAIN, "classes": ["a", "b", "c"]}, "class names"),
        ({"videos": TRAIN, "width": DIM + 2}, "decodes to shape"),
    ],
)
def test_archive_errors(fake_archive, small_dataset, kwargs, match) -> None:
    path, holder = fake_archive
    holder["kwargs"] = kwargs
    with pytest.raises(TascodecError, match=match):
        evaluate_archive(path, small_dataset, seeds=(0,), epochs=1, progress=False, device="cpu",
                         mstcn_options=SMALL)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"seeds": ()}, "at least one seed"),
        ({"seeds": (1, 1)}, "repeated seed"),
        ({"epochs": 0}, "epochs"),
        ({"split": "a.b"}, "split"),
        ({"split": "split9"}, "split9"),
        ({"background": ["nope"]}, "background: 'nope'"),
        ({"background": [7]}, "background: 7"),
        ({"mstcn_options": {"depth": 3}}, "unknown key"),
        ({"jobs": 0}, "jobs must be"),
        ({"jobs": 1.5}, "jobs must be"),
    ],
)
def test_argument_errors(small_dataset, kwargs, match) -> None:
    args = dict(seeds=(0,), epochs=1, progress=False, device="cpu",
                         mstcn_options=SMALL) | kwargs
    with pytest.raises(TascodecError, match=match):
        evaluate_archive(None, small_dataset, **args)


def test_jobs_match_one_process(small_dataset, torch_one_thread) -> None:
    """Seeds trained in two spawned workers score exactly as in this process (one thread each)."""
    args = dict(seeds=(0, 1), epochs=2, progress=False, device="cpu", mstcn_options=SMALL)
    serial = evaluate_archive(None, small_dataset, **args)
    parallel = evaluate_archive(None, small_dataset, jobs=2, **args)
    assert parallel.seeds == (0, 1) and parallel.per_seed == serial.per_seed
    assert parallel.mean == serial.mean and parallel.std == serial.std
    assert len(parallel.train_seconds) == 2


def test_combine_results(small_dataset) -> None:
    args = dict(epochs=1, progress=False, device="cpu", mstcn_options=SMALL)
    a = evaluate_archive(None, small_dataset, seeds=(0,), **args)
    b = evaluate_archive(None, small_dataset, seeds=(1,), **args)
    both = fr.combine_results([a, b])
    assert both.seeds == (0, 1) and both.per_seed == a.per_seed + b.per_seed
    assert both.mean["acc"] == pytest.approx((a.mean["acc"] + b.mean["acc"]) / 2)
    assert both.std["acc"] == pytest.approx(np.std([a.mean["acc"], b.mean["acc"]], ddof=1))
    assert both.seconds == pytest.approx(a.seconds + b.seconds)
    for c in ("asformer", "mstcn"):
        assert both.by_convention[c]["per_seed"] == (a.by_convention[c]["per_seed"]
                                                     + b.by_convention[c]["per_seed"])
    _check_result(both, (0, 1))
    with pytest.raises(TascodecError, match="repeated seed"):
        fr.combine_results([a, a])
    with pytest.raises(TascodecError, match="epochs differs"):
        fr.combine_results([a, dataclasses.replace(b, epochs=2)])
    with pytest.raises(TascodecError, match="no results"):
        fr.combine_results([])


def test_missing_archive_and_dataset(small_dataset, tmp_path) -> None:
    with pytest.raises(TascodecError, match="archive not found"):
        evaluate_archive(tmp_path / "none.tasz", small_dataset, seeds=(0,), epochs=1)
    with pytest.raises(TascodecError, match="not found"):
        evaluate_archive(None, tmp_path / "nodata", seeds=(0,), epochs=1)


def test_background_by_name_is_accepted(small_dataset) -> None:
    r = evaluate_archive(None, small_dataset, seeds=(0,), epochs=1, progress=False,
                         device="cpu", background=["bg"], mstcn_options=SMALL)
    _check_result(r, (0,))


def test_cli_smoke(small_dataset, capsys) -> None:
    rc = main(["eval", "original", "--dataset", str(small_dataset), "--seeds", "0",
               "--epochs", "1", "--device", "cpu", "--json", "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "original" and set(METRIC_KEYS) <= set(out["mean"])
    rc = main(["eval", "original", "--dataset", str(small_dataset), "--seeds", "1",
               "--epochs", "1", "--device", "cpu", "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "| original |" in text and "4 training videos, 2 test videos" in text


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--seeds", "a,b"], "--seeds"),
        (["--seeds", ","], "--seeds"),
        (["--epochs", "0"], "--epochs"),
        (["--background", "zzz"], "background"),
    ],
)
def test_cli_errors(small_dataset, capsys, argv, match) -> None:
    rc = main(["eval", "original", "--dataset", str(small_dataset), "--no-progress", *argv])
    assert rc == 2
    assert match in capsys.readouterr().err


def test_real_archive_from_encode(request, tmp_path) -> None:
    """End to end with the real encoder and reader: a ``mean`` archive of the tiny preset."""
    pytest.importorskip("tascodec.synth", reason="tascodec.synth not built yet")
    pytest.importorskip("tascodec.encoding.encode", reason="tascodec.encoding.encode not built yet")
    pytest.importorskip("tascodec.format", reason="tascodec.format not built yet")
    from tascodec.encoding.encode import encode
    from tascodec.dataset.layout import StandardDataset

    tiny = request.getfixturevalue("tiny_dataset")
    path = tmp_path / "tiny-mean.tasz"
    encode(tiny, path, codec="mean", k=1, gamma=1.0, split="train.split1",
                    progress=False, device="cpu")
    r = evaluate_archive(path, tiny, seeds=(0,), epochs=1, progress=False, device="cpu",
                         mstcn_options=SMALL)
    _check_result(r, (0,))
    ds = StandardDataset(tiny)
    train = ds.split("train.split1")
    assert r.train_videos == len(train) and r.excluded_videos == []
    assert r.train_frames == sum(ds.num_frames(v) for v in train)
    assert r.storage_bytes == path.stat().st_size and r.codec["id"] == "mean"
    assert r.original_bytes == r.train_frames * ds.feature_dim * 4


def test_summary_is_mean_and_sample_std() -> None:
    runs = [{k: float(v + i) for i, k in enumerate(METRIC_KEYS)} for v in (10, 20, 60)]
    mean, std = fr.summarise(runs)
    assert mean["acc"] == pytest.approx(30.0) and mean["edit"] == pytest.approx(31.0)
    assert std["f1@50"] == pytest.approx(np.std([10, 20, 60], ddof=1))
    assert fr.summarise(runs[:1])[1] == {k: 0.0 for k in METRIC_KEYS}


# -- backbones and metric conventions --------------------------------------------------------

ASF_SMALL = {"num_decoders": 1, "num_layers": 3, "num_f_maps": 8}


def test_asformer_backbone_on_hand_made_dataset(small_dataset) -> None:
    r = evaluate_archive(None, small_dataset, seeds=(0,), epochs=2, progress=False, device="cpu",
                         backbone="asformer", asformer_options=ASF_SMALL)
    _check_result(r, (0,))
    assert r.backbone == "asformer" and r.convention == "asformer"
    assert r.to_dict()["backbone"] == "asformer"
    assert "| original | asformer |" in format_results([r])
    again = evaluate_archive(None, small_dataset, seeds=(0,), epochs=2, progress=False,
                             device="cpu", backbone="asformer", asformer_options=ASF_SMALL)
    assert again.per_seed == r.per_seed  # deterministic per seed


def test_asformer_backbone_on_an_archive(fake_archive, small_dataset) -> None:
    path, holder = fake_archive
    holder["kwargs"] = {"videos": TRAIN}
    r = evaluate_archive(path, small_dataset, seeds=(1,), epochs=1, progress=False,
                         device="cpu", backbone="asformer", asformer_options=ASF_SMALL)
    _check_result(r, (1,))
    assert r.backbone == "asformer" and r.train_videos == 4


def test_convention_changes_only_f1(small_dataset) -> None:
    args = dict(seeds=(0,), epochs=2, progress=False, device="cpu", mstcn_options=SMALL)
    a = evaluate_archive(None, small_dataset, convention="asformer", **args)
    m = evaluate_archive(None, small_dataset, convention="mstcn", **args)
    assert (a.convention, m.convention, a.backbone) == ("asformer", "mstcn", "mstcn")
    assert a.mean["acc"] == m.mean["acc"] and a.mean["edit"] == m.mean["edit"]
    with pytest.raises(TascodecError, match="convention differs"):
        fr.combine_results([a, dataclasses.replace(m, seeds=(1,))])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"backbone": "tcn"}, "backbone"),
        ({"backbone": "asformer", "mstcn_options": SMALL}, "mstcn_options"),
        ({"asformer_options": ASF_SMALL}, "asformer_options"),
        ({"backbone": "asformer", "asformer_options": {"num_stages": 2}}, "unknown key"),
        ({"convention": "tcn"}, "convention"),
    ],
)
def test_backbone_and_convention_errors(small_dataset, kwargs, match) -> None:
    args = dict(seeds=(0,), epochs=1, progress=False, device="cpu") | kwargs
    with pytest.raises(TascodecError, match=match):
        evaluate_archive(None, small_dataset, **args)


def test_cli_backbone_and_convention(small_dataset, capsys) -> None:
    rc = main(["eval", "original", "--dataset", str(small_dataset), "--seeds", "0",
               "--epochs", "1", "--device", "cpu", "--backbone", "asformer",
               "--convention", "mstcn", "--json", "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["backbone"] == "asformer" and out["convention"] == "mstcn"


def test_cli_parses_backbone_and_convention(monkeypatch, capsys) -> None:
    seen = {}

    def fake_evaluate(archive, dataset, **kwargs):
        seen.update(kwargs)
        raise TascodecError("stop here")

    import tascodec.cli.eval as eval_command

    monkeypatch.setattr(eval_command, "evaluate_archive", fake_evaluate)  # the command's binding
    assert main(["eval", "original", "--dataset", "d", "--backbone", "ASFormer",
                 "--convention", "mstcn"]) == 2
    assert (seen["backbone"], seen["convention"]) == ("asformer", "mstcn")
    seen.clear()
    assert main(["eval", "original", "--dataset", "d"]) == 2
    assert (seen["backbone"], seen["convention"]) == ("mstcn", "asformer")
    capsys.readouterr()


@pytest.mark.parametrize("argv, match", [(["--backbone", "tcn"], "--backbone"),
                                         (["--convention", "x"], "--convention")])
def test_cli_backbone_errors(small_dataset, capsys, argv, match) -> None:
    rc = main(["eval", "original", "--dataset", str(small_dataset), "--no-progress", *argv])
    assert rc == 2
    assert match in capsys.readouterr().err


def test_every_convention_scores_the_same_models(small_dataset) -> None:
    """One training scored under both conventions: asking for the other convention trains the
    same models (same seed) and puts the other scores on top; ``kept_under`` compares each
    convention with the original's under the same one."""
    args = dict(seeds=(0,), epochs=2, progress=False, device="cpu", mstcn_options=SMALL)
    a = evaluate_archive(None, small_dataset, convention="asformer", **args)
    m = evaluate_archive(None, small_dataset, convention="mstcn", **args)
    assert a.by_convention == m.by_convention
    assert m.per_seed == a.by_convention["mstcn"]["per_seed"] and m.mean == a.by_convention["mstcn"]["mean"]
    halved = dataclasses.replace(a, by_convention={
        c: fr.scores_of([{k: v / 2 for k, v in s.items()} for s in v["per_seed"]])
        for c, v in a.by_convention.items()})
    kept = fr.with_original(halved, a).kept_under("mstcn")
    for k in METRIC_KEYS:
        if a.by_convention["mstcn"]["mean"][k]:
            assert kept[k] == pytest.approx(50.0)
        else:
            assert np.isnan(kept[k])
    assert fr.with_original(halved, dataclasses.replace(a, by_convention={})).kept_under("mstcn") is None
    back = FidelityResult.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back.by_convention == a.by_convention
