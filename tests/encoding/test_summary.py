"""``EncodeSummary`` (``tascodec.encoding.summary``): what ``encode`` did, as a value (sizes and
ratios) and as the table the command prints."""

from __future__ import annotations

from pathlib import Path

from tascodec.encoding.summary import EncodeSummary, short_config


def summary(**changes) -> EncodeSummary:
    values = dict(path=Path("out/a.tasz"), codec="inversion",
                  codec_config={"id": "inversion", "k": 2, "latent_dim": 16, "epochs": 9},
                  purpose="condense", split="train.split1", videos=3, split_videos=6,
                  frames=900, segments=40, codes=80, code_dim=16, feature_dim=64,
                  bytes={"codes": 2560, "tables": 700, "decoder": 9000, "overhead": 1940,
                         "total": 14200},
                  original_bytes=230_400, source_bytes=460_800, reconstruction_mse=0.25,
                  seconds={"train": 1.5})
    return EncodeSummary(**{**values, **changes})


def test_ratios_are_of_the_split_and_of_the_stored_videos():
    s = summary()
    assert s.storage_bytes == 14200
    assert round(s.ratio, 3) == round(460_800 / 14200, 3) and round(s.ratio_stored, 3) == \
        round(230_400 / 14200, 3)


def test_short_config_keeps_what_people_compare():
    assert short_config({"id": "inversion", "k": 2, "latent_dim": 16, "epochs": 9,
                         "recipe": None}) == "k=2 latent_dim=16"


def test_the_printed_table():
    rows = dict(line.split("  ", 1) for line in str(summary()).splitlines())
    rows = {k.strip(): v.strip() for k, v in rows.items()}
    assert rows["codec"] == "inversion k=2 latent_dim=16"
    assert rows["purpose"] == "condense (train.split1)"
    assert rows["videos"] == "3 stored of 6 (a sample of 50% (--gamma))"
    assert rows["bytes: decoder"] == "8.79 KiB (9000 B)" and rows["bytes: tables"] == "700 B"
    assert rows["ratio vs float32"] == "32.5x of the split (the stored videos alone: 16.2x)"
    assert rows["reconstruction MSE"].startswith("0.25 (mean squared error per value")
    assert rows["time: train"] == "1.50 s" and "note" not in rows and "relative error" not in rows
    every = str(summary(videos=6, target_missed=50.0, relative_mse=0.125))
    assert "6 stored of 6 (every video)" in every
    assert "the default target of 50x cannot be met" in every
    assert "relative error" in every and "0.125 (squared error relative" in every
