"""The standing adversarial run (issue 12): hostile archives and names against the reader.

``PYTHONPATH=. python tests/support/adversarial.py [--mutants N] [--bombs N] [--names N]`` prints, per
family and in all: trials, rejected (a ``TascodecError`` on open), caught (a ``TascodecError``
later: codes, decoder, decode, verify), ok (read exactly as the original), silent (read, but
differently: must be 0), foreign (any other exception: must be 0), and the peak RSS.

Families, all on the format 1.1 goldens (``tests/data/v1_1``):

* ``mutants``: byte mutations (``test_fuzz.mutants``: flips, overwrites, huge integers,
  truncations, deletions, duplications);
* ``swaps``: every pair of entries with different bytes exchanged;
* ``short``: every chunk replaced by a valid frame of fewer bytes (CRC and manifest redone);
* ``bombs``: chunks whose frames declare up to 256 MiB (CRC and manifest redone);
* ``names``: hostile video names through ``write_archive`` -> ``export_archive`` ->
  ``StandardDataset``: refused, or read back as themselves with the same features;
* ``outdirs`` (``adversarial_outdirs``, issue 28): hostile output folders for
  ``export_archive`` (linked folders and files, FIFO, linked and huge markers, forged
  markers over planted files); adds the outcomes ``escaped`` (a file outside the folder
  changed), ``hang`` and ``unbounded`` (memory), each of which must be 0;
* ``budget`` (``adversarial_budget``, issue 28): decodes dominated by codes (generated,
  int8, float16, offsets, segment groups) and every golden: ``unbounded`` when a decode's
  peak traced memory passes 1.5 x the decode budget's estimate. Every decode of the other
  families is held to the same bound (``classify`` decodes with ``decode_traced``);
* ``datasets`` (``adversarial_inputs``, issue 28): NaN, infinities and finite values far
  beyond any feature planted in one frame of a dataset, read as an encode reads it: refused
  naming the video, dimension and frame, or read back as written.
* ``servers`` (``adversarial_servers``, issue 28): lying and silent HTTP servers (``Range``
  ignored, answers longer, shorter or for another offset, a wrong size, error statuses, a
  stall, a flipped byte, the file replaced after the open, padded metadata) behind
  ``tascodec.open(url)``: rejected or caught, in bounded time and bytes.

``adversarial_inputs.run_fileobjs`` (hostile file objects: truncated gzip, lzma, bz2 streams,
failing reads) is run by ``tests/format/test_hostile_inputs.py``; it joins this run once
``FileObjectSource`` turns a file object's ``EOFError`` into a ``FormatError``.

``tests/format/test_fuzz.py::test_adversarial_run`` runs it small by default and at the issue's scale
(5,000 mutants, 50 bombs, 100 names) with ``-m slow``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script: make_golden lives in tests/, above this folder
    sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from adversarial_budget import decode_traced, over_budget  # noqa: E402
from make_golden import GOLDEN_DIR_1_1, NAMES_1_1, build, with_manifest, write_zip, zip_entries  # noqa: E402
from tascodec.errors import TascodecError  # noqa: E402

OUTCOMES = ("rejected", "caught", "ok", "silent", "foreign", "escaped", "hang", "unbounded")
#: outcomes that must never happen
BAD = ("silent", "foreign", "escaped", "hang", "unbounded")


def _crc_chunk(body: bytes) -> bytes:
    import google_crc32c

    return body + google_crc32c.value(body).to_bytes(4, "little")


def classify(path: Path, expected) -> str:
    """Open and read everything; compare with ``expected`` (the golden's npz)."""
    from tascodec.format import open_archive

    try:
        ar = open_archive(path, decode_limit=256 << 20)
    except TascodecError:
        return "rejected"
    except Exception:  # noqa: BLE001 - counted, never hidden
        traceback.print_exc()
        return "foreign"
    budget: list = []  # (peak, estimate) of every decode, refused ones included
    try:
        with ar:
            same = ar.videos == list(expected["videos"])
            for i, v in enumerate(ar.videos):
                same = same and np.array_equal(ar.labels(v), expected[f"labels_{i}"])
                same = same and np.array_equal(ar.codes(v), expected[f"codes_{i}"])
                x = decode_traced(ar, v, budget)
                same = same and np.allclose(x, expected[f"decoded_{i}"], rtol=1e-5, atol=1e-5)
            problems = ar.verify()
        outcome = "caught" if problems else ("ok" if same else "silent")
    except TascodecError:
        outcome = "caught"
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        outcome = "foreign"
    return "unbounded" if outcome != "foreign" and over_budget(budget) else outcome


def _mutated(workdir: Path, count: int):
    from testkit import mutants

    for k, name in enumerate(NAMES_1_1):
        data = (GOLDEN_DIR_1_1 / f"{name}.tasz").read_bytes()
        expected = np.load(GOLDEN_DIR_1_1 / f"{name}.npz")
        for mutant in mutants(data, count // len(NAMES_1_1), seed=100 + k):
            path = workdir / "m.tasz"
            path.write_bytes(mutant)
            yield path, expected


def _structural(workdir: Path, family: str, bombs: int):
    from numcodecs import zstd

    made = 0
    for name in NAMES_1_1:
        entries = zip_entries(GOLDEN_DIR_1_1 / f"{name}.tasz")
        expected = np.load(GOLDEN_DIR_1_1 / f"{name}.npz")
        keys = [k for k in entries if k != "zarr.json"]
        chunks = [k for k in keys if "/c/" in k]
        variants = []
        if family == "swaps":
            variants = [{**entries, a: entries[b], b: entries[a]}
                        for i, a in enumerate(keys) for b in keys[i + 1:]
                        if entries[a] != entries[b]]
        elif family == "short":
            for key in chunks:
                raw = zstd.decompress(entries[key][:-4])
                for short in (raw[:-1], raw[: len(raw) // 2]):
                    variants.append(with_manifest({**entries, key: _crc_chunk(
                        zstd.compress(short, 3))}))
        elif family == "bombs":
            for j in range(-(-bombs // len(NAMES_1_1))):
                if made >= bombs:
                    break
                key = chunks[j % len(chunks)]
                size = (1 << 20) << (j % 9)  # 1 MiB .. 256 MiB of zeros
                body = zstd.compress(bytes(size), 19)
                variants.append(with_manifest({**entries, key: _crc_chunk(body)}))
                made += 1
        for entries_v in variants:
            yield write_zip(workdir / "s.tasz", entries_v), expected


HOSTILE = ["a\rb", "a\vb", "a\fb", "a\x1cb", "a\x1db", "a\x1eb", "a\x85b", "a\u2028b",
           "a\u2029b", " lead", "trail ", "a\tb", "a\nb", "a\x00b", "a/b", "a\\b", "..", ".",
           "", "x" * 250, "é" * 120, "名前" * 40, "-rf", "%s%n", "${HOME}", "*.npy", "a b",
           "CON", "nul", "\ud800", "a\x7fb", "😀" * 60, "~", ".hidden", "a;b", "'quote'",
           '"dq"', "<tag>", "a|b", "a:b"]


def hostile_names(count: int) -> list[str]:
    rng = np.random.default_rng(0)
    names = list(HOSTILE)
    while len(names) < count:
        a, b = rng.choice(len(HOSTILE), 2)
        names.append(f"{HOSTILE[a][:40]}{rng.integers(1000)}{HOSTILE[b][:40]}")
    return names[:count]


def run_names(workdir: Path, count: int) -> Counter:
    from tascodec.loading.export import export_archive
    from tascodec.format import open_archive, write_archive
    from tascodec.dataset.layout import StandardDataset

    out: Counter = Counter()
    content, _ = build("repeat")
    base = content.table.video_names
    for i, name in enumerate(hostile_names(count)):
        content.table.video_names = [name, *base[1:]]
        content.splits = {"train.split1": [name, base[1]], "test.split1": [base[2]]}
        path, target = workdir / f"n{i}.tasz", workdir / f"n{i}"
        try:
            write_archive(content, path)
            export_archive(path, target, progress=False)
            ds = StandardDataset(target)
            with open_archive(path) as ar:
                same = sorted(ds.videos) == sorted(ar.videos)
                same = same and ds.split("train.split1") == [name, base[1]]
                same = same and np.array_equal(ds.features(name), ar.decode(name).T)
            out["ok" if same else "silent"] += 1
        except TascodecError:
            out["rejected"] += 1
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            out["foreign"] += 1
    return out


def run(mutants: int = 5000, bombs: int = 50, names: int = 100, *,
        echo: bool = True) -> dict[str, Counter]:
    """Every family; returns family -> Counter of outcomes (and ``"all"``)."""
    results: dict[str, Counter] = {}
    with tempfile.TemporaryDirectory(prefix="tascodec-adv-") as tmp:
        work = Path(tmp)
        results["mutants"] = Counter(classify(p, e) for p, e in _mutated(work, mutants))
        for family in ("swaps", "short", "bombs"):
            results[family] = Counter(classify(p, e) for p, e in _structural(work, family, bombs))
        results["names"] = run_names(work, names)
        from adversarial_outdirs import run_outdirs

        results["outdirs"] = run_outdirs(work)
        from adversarial_budget import run_budget

        results["budget"] = run_budget(work)
        from adversarial_inputs import run_datasets, run_fileobjs
        from tascodec.synth import synthesize

        results["fileobjs"] = run_fileobjs()
        from adversarial_servers import run_servers

        results["servers"] = run_servers(work)

        synthesize(work / "tiny", preset="tiny", seed=0)
        results["datasets"] = run_datasets(work / "tiny", work)
    results["all"] = sum(results.values(), Counter())
    if echo:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        print(f"{'family':<9} {'trials':>7} " + " ".join(f"{o:>9}" for o in OUTCOMES))
        for family, c in results.items():
            print(f"{family:<9} {sum(c.values()):>7} " + " ".join(f"{c[o]:>9}" for o in OUTCOMES))
        print(f"peak RSS {peak / 1024:.0f} MiB")
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mutants", type=int, default=5000)
    p.add_argument("--bombs", type=int, default=50)
    p.add_argument("--names", type=int, default=100)
    a = p.parse_args()
    res = run(a.mutants, a.bombs, a.names)["all"]
    return 0 if not any(res[o] for o in BAD) else 1


if __name__ == "__main__":
    sys.exit(main())
