"""The segmentation models of the fidelity harness by name (``tascodec.harness.backbones``):
each backbone's trainer and its options, checked before any training."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tascodec.errors import TascodecError
from tascodec.harness.backbones import BACKBONES, MODEL_NAMES, trainer


def test_each_backbone_gives_its_trainer_and_options():
    pytest.importorskip("torch")
    from tascodec.harness.asformer import train_asformer
    from tascodec.harness.mstcn import train_mstcn

    assert BACKBONES == ("mstcn", "asformer") and set(MODEL_NAMES) == set(BACKBONES)
    assert trainer("mstcn", {"num_stages": 2}) == (train_mstcn, {"num_stages": 2})
    assert trainer("asformer", None, {"size": "small"}) == (train_asformer, {"size": "small"})
    assert trainer("mstcn") == (train_mstcn, {})


@pytest.mark.parametrize("args, match", [
    (("lstm",), r"backbone: expected one of \['mstcn', 'asformer'\], got 'lstm'"),
    (("mstcn", None, {"size": "small"}), "asformer_options: given with backbone='mstcn'"),
    (("asformer", {"num_stages": 2}), "mstcn_options: given with backbone='asformer'"),
    (("mstcn", {"stages": 2}), r"mstcn_options: unknown key\(s\) \['stages'\]; allowed:"),
])
def test_bad_choices_are_named(args, match):
    with pytest.raises(TascodecError, match=match):
        trainer(*args)


def test_a_bad_choice_imports_no_torch():
    code = ("import sys\nfrom tascodec.harness.backbones import trainer\n"
            "try:\n    trainer('lstm')\nexcept ValueError:\n    pass\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
