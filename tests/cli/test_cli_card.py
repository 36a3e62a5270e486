"""``tascodec card`` (``tascodec.cli.card``): the dataset card written as README.md (into a
folder too), never replaced unasked; results that are not eval results refused in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import tascodec
from fidelity_results import result
from tascodec.cli import main
from tascodec.errors import OutputExistsError
from tascodec.harness.fidelity_result import with_original

GOLDEN = Path(__file__).parents[1] / "data" / "v1_1" / "mlp.tasz"


@pytest.fixture
def archive(tmp_path) -> Path:
    return Path(shutil.copy(GOLDEN, tmp_path / "gtea.tasz"))


def test_cli_card_writes_readme_and_refuses_to_replace_it(archive, tmp_path, capsys):
    with tascodec.open(archive) as ar:
        fp = ar.identity
    res = tmp_path / "eval.json"
    res.write_text(json.dumps(with_original(result(fp, acc=59.5), result(None)).to_dict()))
    out = tmp_path / "card"
    out.mkdir()
    assert main(["card", str(archive), "--eval", str(res), "-o", f"{out}/"]) == 0
    card = (out / "README.md").read_text()
    assert f"`{fp}`" in card and "(99.2%)" in card
    assert main(["card", str(archive), "--eval", str(res), "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    with pytest.raises(OutputExistsError):
        tascodec.write_card(archive, out / "README.md", [res])
    tascodec.write_card(archive, out / "README.md", [res], overwrite=True)
    bad = tmp_path / "bad.json"
    for text, words in (("{", "not JSON"), ('{"name": "x"}', "no field"), ("[1]", "JSON object")):
        bad.write_text(text)
        assert main(["card", str(archive), "--eval", str(bad), "-o", str(tmp_path / "x.md")]) == 2
        assert words in capsys.readouterr().err
