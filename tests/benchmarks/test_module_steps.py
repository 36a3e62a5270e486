"""benchmarks/module_steps.py: decoding one video resolves it once (one ``Archive.video_index``)
and crosses between tascodec modules at most 24 times (51 before ``decode.view``; issue "the
house, step two", item 1)."""

from __future__ import annotations

import pytest

from benchmarks import module_steps


@pytest.mark.parametrize("name", ["plain", "grouped", "torch"])
def test_one_decode_resolves_the_video_once(name):
    if name == "torch":
        pytest.importorskip("torch")
    got = module_steps.measure(name)
    assert got["video_index"] == 1
    assert len(got["steps"]) <= 24, got["steps"]
    assert got["steps"][0][2] == ("decode_video_tensor" if name == "torch" else "decode")


def test_main_prints_one_line_per_decode(capsys):
    assert module_steps.main(["plain", "grouped"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "decode" and [ln.split()[0] for ln in lines[1:]] == [
        "plain", "grouped"]
