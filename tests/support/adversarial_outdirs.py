"""The hostile output directories family of the standing adversarial run (issue 28 items 2, 5,
6): ``export_archive`` into a folder someone else prepared.

Each trial plants something in the output folder (links in place of ``features/``,
``groundTruth/`` or ``splits/``, links or planted files in place of exported files, a marker
that is a FIFO, a link or a huge file, a forged ``{"complete": false}`` marker of the same
archive), runs the export (with and without ``overwrite``) under a 20 s alarm and classifies:

* ``rejected``: a ``TascodecError``, and nothing outside the folder changed;
* ``ok``: the export completed, reads back (``StandardDataset``) as exactly what the archive
  decodes, its files are regular files, and nothing outside the folder changed;
* ``silent``: completed, but something reads differently (planted data kept): must be 0;
* ``escaped``: a file outside the output folder was written, replaced or removed: must be 0;
* ``hang``: the alarm fired: must be 0;
* ``unbounded``: the export's peak traced memory (``tracemalloc``) passed ``MAX_TRACED``
  (a marker read whole): must be 0;
* ``foreign``: any other exception: must be 0.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tracemalloc
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

from make_golden import GOLDEN_DIR_1_1
from tascodec.errors import TascodecError

ARCHIVE = GOLDEN_DIR_1_1 / "mlp.tasz"
ALARM_S = 20
MAX_TRACED = 16 << 20  # the golden's export needs well under 1 MiB


class Hang(Exception):
    """The trial outlived its alarm."""


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _snapshot(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry under ``root``, links not followed: relative path -> (kind, content)."""
    out: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p).encode())
            elif p.is_dir():
                out[rel] = ("dir", b"")
            else:
                out[rel] = ("file", p.read_bytes())
    return out


def _outside(work: Path, videos: list[str]) -> Path:
    """A folder of the user's that links point into: files named like exported ones, a
    temporary-named file of a dead process, a valid-looking marker."""
    notes = work / "outside" / "notes"
    notes.mkdir(parents=True)
    for v in videos:
        (notes / f"{v}.npy").write_bytes(b"precious features of " + v.encode())
        (notes / f"{v}.txt").write_text(f"precious labels of {v}\n")
    (notes / "train.split1.bundle").write_text("precious bundle\n")
    (notes / f".tascodec-tmp-x.npy.{_dead_pid()}.abc123").write_text("precious temporary\n")
    (notes / "mapping.txt").write_text("0 precious\n")
    return work / "outside"


def _plants(identity: str, videos: list[str]):
    """``(name, plant(out, notes))`` of every hostile set-up."""
    forged = {"format": "tascodec-export", "archive": str(ARCHIVE), "identity": identity,
              "split": None, "videos": len(videos), "complete": False}

    def marker(out: Path) -> None:
        (out / ".tascodec-export.json").write_text(json.dumps(forged))

    def linked(sub: str, with_marker: bool):
        def plant(out: Path, notes: Path) -> None:
            out.mkdir()
            os.symlink(notes, out / sub)
            if with_marker:
                marker(out)
        return plant

    def all_linked(out: Path, notes: Path) -> None:
        out.mkdir()
        for sub in ("features", "groundTruth", "splits"):
            os.symlink(notes, out / sub)

    def planted_files(link: bool):
        def plant(out: Path, notes: Path) -> None:
            for sub in ("features", "groundTruth", "splits"):
                (out / sub).mkdir(parents=True)
            marker(out)
            for v in videos:
                if link:
                    os.symlink(notes / f"{v}.npy", out / "features" / f"{v}.npy")
                    os.symlink(notes / f"{v}.txt", out / "groundTruth" / f"{v}.txt")
                else:
                    np.save(out / "features" / f"{v}.npy", np.zeros((12, 3), np.float32))
                    (out / "groundTruth" / f"{v}.txt").write_text("pour\n" * 3)
            os.symlink(notes / "train.split1.bundle", out / "splits" / "train.split1.bundle")
            os.symlink(notes / "mapping.txt", out / "mapping.txt")
        return plant

    def fifo_marker(out: Path, notes: Path) -> None:
        (out / "features").mkdir(parents=True)
        (out / "features" / "left.npy").write_bytes(b"x")  # not empty: the marker is read
        os.mkfifo(out / ".tascodec-export.json")

    def linked_marker(out: Path, notes: Path) -> None:
        out.mkdir()
        (notes / "marker.json").write_text(json.dumps(forged))
        os.symlink(notes / "marker.json", out / ".tascodec-export.json")

    def huge_marker(out: Path, notes: Path) -> None:
        out.mkdir()
        with open(out / ".tascodec-export.json", "wb") as fh:
            fh.truncate(64 << 20)  # sparse: 64 MiB of zeros that a reader would hold

    def temporaries_in_linked(out: Path, notes: Path) -> None:
        out.mkdir()
        os.symlink(notes, out / "features")

    def folder_at(rel: str):
        def plant(out: Path, notes: Path) -> None:
            (out / rel).mkdir(parents=True)
            (out / rel / "inside").write_text("x")
        return plant

    yield "features linked", linked("features", False)
    yield "groundTruth linked", linked("groundTruth", False)
    yield "splits linked", linked("splits", False)
    yield "features linked, forged marker", linked("features", True)
    yield "groundTruth linked, forged marker", linked("groundTruth", True)
    yield "only links", all_linked
    yield "forged marker, planted files", planted_files(False)
    yield "forged marker, linked files", planted_files(True)
    yield "FIFO marker", fifo_marker
    yield "linked marker", linked_marker
    yield "huge marker", huge_marker
    yield "temporaries in a linked folder", temporaries_in_linked
    yield "mapping.txt is a folder", folder_at("mapping.txt")
    yield "marker is a folder", folder_at(".tascodec-export.json")
    yield "a bundle is a folder", folder_at("splits/train.split1.bundle")
    yield "a feature file is a folder", folder_at(f"features/{videos[0]}.npy")
    yield "a label file is a folder", folder_at(f"groundTruth/{videos[0]}.txt")


def _alarm(signum, frame):  # pragma: no cover - only when a trial hangs
    raise Hang()


def _reads_as_archive(out: Path) -> bool:
    from tascodec.format import open_archive
    from tascodec.dataset.layout import StandardDataset

    ds = StandardDataset(out)
    with open_archive(ARCHIVE) as ar:
        same = sorted(ds.videos) == sorted(ar.videos) and ds.splits() == ar.splits
        for v in ar.videos:
            for sub, ext in (("features", "npy"), ("groundTruth", "txt")):
                same = same and not (out / sub / f"{v}.{ext}").is_symlink()
            same = same and np.array_equal(ds.features(v), ar.decode(v).T)
            same = same and np.array_equal(ds.labels(v), ar.labels(v))
    return same and not any((out / sub).is_symlink() for sub in ("features", "groundTruth",
                                                                 "splits", "mapping.txt"))


def trial(work: Path, plant, overwrite: bool, videos: list[str]) -> str:
    """One hostile set-up in a fresh ``work``: the outcome (module docstring)."""
    from tascodec.loading.export import export_archive

    notes = _outside(work, videos) / "notes"
    out = work / "out"
    plant(out, notes)
    before = _snapshot(work / "outside")
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(ALARM_S)
    tracemalloc.start()
    try:
        try:
            export_archive(ARCHIVE, out, progress=False, overwrite=overwrite)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        outcome = "ok" if _reads_as_archive(out) else "silent"
        if peak > MAX_TRACED:
            outcome = "unbounded"
    except TascodecError:
        outcome = "rejected" if peak <= MAX_TRACED else "unbounded"
    except Hang:
        outcome = "hang"
    except Exception:  # noqa: BLE001 - counted, never hidden
        traceback.print_exc()
        outcome = "foreign"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if _snapshot(work / "outside") != before:
        outcome = "escaped"
    return outcome


def run_outdirs(workdir: Path, *, detail: dict[str, str] | None = None) -> Counter:
    """Every set-up, without and with ``overwrite``: a Counter of outcomes. ``detail``
    (optional) receives ``"<set-up> [overwrite]" -> outcome``."""
    from tascodec.format import open_archive

    with open_archive(ARCHIVE) as ar:
        identity, videos = ar.identity, list(ar.videos)
    out: Counter = Counter()
    for i, (name, plant) in enumerate(_plants(identity, videos)):
        for overwrite in (False, True):
            work = Path(workdir) / f"o{i}{int(overwrite)}"
            work.mkdir()
            outcome = trial(work, plant, overwrite, videos)
            out[outcome] += 1
            if detail is not None:
                detail[f"{name}{' [overwrite]' if overwrite else ''}"] = outcome
            shutil.rmtree(work, ignore_errors=True)
    return out
