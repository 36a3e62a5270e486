"""``hf://`` end to end without the internet: a local stand-in for the hub (``hub_server.py``,
127.0.0.1 only, reached through ``HF_ENDPOINT``) serves a dataset repository's files with range
requests; ``tascodec.open``, ``TaszDataset`` with workers and ``tascodec info/ls/decode`` read
them by ``hf://`` URL, counting the bytes fetched; and the README's publishing path (encode,
eval, card, ``hf upload``, open by URL) runs against it command by command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("huggingface_hub")
pytest.importorskip("aiohttp")

import tascodec  # noqa: E402
from hub_server import HubServer  # noqa: E402
from tascodec.cli import main  # noqa: E402
from tascodec.format import write_archive  # noqa: E402
from tascodec.format.arrays import chunk_keys  # noqa: E402
from tascodec.format.container import TAIL_BYTES  # noqa: E402
from testkit import big_content, entry_span  # noqa: E402

REPO = "lab/gtea-tasz"
FILE = f"/datasets/{REPO}/resolve/main/big.tasz"
URL = f"hf://datasets/{REPO}/big.tasz"


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hf") / "big.tasz"
    return write_archive(big_content(), path, codes_chunk_bytes=8192)


def point_at(hub: HubServer, monkeypatch) -> dict[str, str]:
    """Send this process's (and its children's) hub requests to ``hub``; the environment."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    env = {"HF_ENDPOINT": hub.endpoint, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0",
           "HF_TOKEN": "hf_local_stand_in", "HF_HOME": str(Path(hub.home))}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def hub(big, monkeypatch, tmp_path):
    with HubServer({REPO: {"big.tasz": big.read_bytes()}}) as srv:
        srv.home = tmp_path / "hf-home"
        point_at(srv, monkeypatch)
        yield srv


def test_hf_open_and_one_video_fetch_what_http_fetches(hub, big):
    http = hub.url(FILE)
    fetched = {}
    for url in (http, URL):
        hub.reset()
        with tascodec.open(url) as ar:
            opened = hub.bytes_by_path.get(FILE, 0)
            x = ar.decode(3)
        fetched[url] = (opened, hub.bytes_by_path[FILE], [r for r in hub.requests if
                                                          FILE in r[1]])
        hub.requests.clear()
    assert fetched[URL][:2] == fetched[http][:2]  # the same reads: one code path
    with tascodec.open(big) as local:
        assert np.array_equal(x, local.decode(3))
        rows = local.code_rows(3)
        meta = local._layout.codes
        keys = chunk_keys(meta)[rows.start // meta.chunk_rows:
                                (rows.stop - 1) // meta.chunk_rows + 1]
    names = zipfile.ZipFile(big).namelist()
    header = [n for n in names if n.endswith("zarr.json")
              or (n.split("/")[0] in ("segments", "videos") and "/c/" in n)]
    directory = big.stat().st_size - zipfile.ZipFile(big).start_dir
    opened, total, _ = fetched[URL]
    assert opened <= TAIL_BYTES + directory + entry_span(big, header)
    assert total - opened <= entry_span(big, keys)  # the video: its chunks only
    print(f"hf:// open {opened} B, + video 3 {total - opened} B of a "
          f"{big.stat().st_size} B archive")


def test_hf_dataset_with_workers(hub, big):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    remote = tascodec.TaszDataset(URL, "train", cache_bytes=0)
    local = tascodec.TaszDataset(big, "train", cache_bytes=0)
    hub.reset()
    for _ in range(3):
        loader = DataLoader(remote, batch_size=2, num_workers=2, collate_fn=remote.collate)
        for a, b in zip(loader, DataLoader(local, batch_size=2, collate_fn=local.collate)):
            assert a.names == b.names and torch.equal(a.input, b.input)
    assert 0 < hub.bytes_by_path[FILE] <= 1.1 * big.stat().st_size


def test_hf_cli_info_ls_decode(hub, big, tmp_path, capsys):
    assert main(["info", URL]) == 0 and URL in capsys.readouterr().out
    assert main(["ls", URL]) == 0 and "v3" in capsys.readouterr().out
    assert main(["decode", URL, "v3", "-o", str(tmp_path / "v3.npy")]) == 0
    with tascodec.open(big) as local:
        assert np.array_equal(np.load(tmp_path / "v3.npy"), local.features("v3"))
    capsys.readouterr()
    assert main(["info", f"hf://datasets/{REPO}/nope.tasz"]) == 2
    assert "no such archive" in capsys.readouterr().err
    assert main(["info", "hf://datasets/lab/no-such-repo/big.tasz"]) == 2
    assert "no such archive" in capsys.readouterr().err


def readme_commands() -> list[str]:
    """The five commands of the README's "Publishing" section, in order."""
    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text.split("## Publishing", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.usefixtures("torch_one_thread")
def test_publishing_path_of_the_readme(tiny_dataset, big, monkeypatch, tmp_path):
    """encode, eval, card, upload with the hub's CLI, open by URL: each README command run
    against the local hub (tiny data, a quick recipe, one epoch)."""
    pytest.importorskip("torch")
    if shutil.which("hf") is None:
        pytest.skip("the hub's CLI 'hf' (huggingface_hub >= 1.0) is not on PATH")
    commands = readme_commands()
    assert [c.split()[:2] for c in commands] == [
        ["tascodec", "encode"], ["tascodec", "eval"], ["tascodec", "card"], ["hf", "upload"],
        ["tascodec", "info"]]
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    os.symlink(tiny_dataset, work / "data" / "gtea")
    monkeypatch.chdir(work)
    small = {"tascodec encode": ["--device", "cpu", "--quiet"],
             "tascodec eval": ["--epochs", "1", "--seeds", "0", "--device", "cpu", "--quiet"]}
    with HubServer() as hub:
        hub.home = tmp_path / "hf-home"
        env = point_at(hub, monkeypatch)
        for command in commands:
            argv = command.split()
            extra = small.get(" ".join(argv[:2]), [])
            if argv[0] == "hf":
                out = subprocess.run(argv, env={**os.environ, **env}, capture_output=True,
                                     text=True, timeout=300)
                assert out.returncode == 0, out.stderr[-2000:]
                continue
            if ">" in argv:  # eval --json > eval.json
                argv, target = argv[: argv.index(">")], argv[argv.index(">") + 1]
                code = subprocess.run([sys.executable, "-m", *argv[:], *extra],
                                      capture_output=True, text=True, timeout=600,
                                      env={**os.environ, **env, "OMP_NUM_THREADS": "1"})
                assert code.returncode == 0, code.stderr[-2000:]
                Path(target).write_text(code.stdout)
                continue
            assert main([*argv[1:], *extra]) == 0, command
        repo = next(iter(hub.repos))
        files = hub.repos[repo]
        assert set(files) == {"gtea.tasz", "README.md"} and hub.validated == 1
        card = files["README.md"].decode()
        with tascodec.open(work / "publish" / "gtea.tasz") as ar:
            assert f"`{ar.identity}`" in card
            assert files["gtea.tasz"] == (work / "publish" / "gtea.tasz").read_bytes()
        result = json.loads((work / "eval.json").read_text())
        assert result["archive_fingerprint"] in card and result["kept"]["acc"] > 0
        assert re.search(r"\| split1 \| mstcn \| 1 \| 0 \|", card)
        url = f"hf://datasets/{repo}/gtea.tasz"
        assert f'tascodec.open("{url}")' in card  # the card's loading lines name its URL
        with tascodec.open(url) as remote:
            assert remote.identity == result["archive_fingerprint"]
            assert remote.features(remote.videos[0]).shape[0] == remote.feature_dim
