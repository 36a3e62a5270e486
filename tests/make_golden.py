"""Golden ``.tasz`` archives: tiny, one per decode situation, written once and kept forever.

``tests/data/v1/`` holds format 1.0 (:data:`NAMES`), ``tests/data/v1_1/`` format 1.1
(:data:`NAMES_1_1`: float16 and float32 decoders, int8 codes, repeat).
``TASCODEC_REGEN_GOLDEN=1 python tests/make_golden.py [v1|v1_1]`` (re)writes a set's
``<name>.tasz`` and ``<name>.npz`` (the arrays the archive must give: labels, codes and, when
``tascodec.decode.decode_reference`` is importable, the decoded features of every video).
Without the variable it refuses to touch existing files. The builders here are also the tiny
contents the format tests use.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from tascodec.content import ArchiveContent, DecoderCheckpoint, SegmentTable

GOLDEN_DIR = Path(__file__).resolve().parent / "data" / "v1"
GOLDEN_DIR_1_1 = Path(__file__).resolve().parent / "data" / "v1_1"
CLASSES = ["background", "pour", "stir"]  # A = 3
D_CODE, HIDDEN, D_FEAT = 8, 16, 12  # d, H, D


def _labels(rng: np.random.Generator, num_videos: int) -> list[np.ndarray]:
    out = []
    for _ in range(num_videos):
        n = int(rng.integers(2, 6))
        actions = rng.integers(0, len(CLASSES), size=n)
        lengths = rng.integers(1, 9, size=n)
        out.append(np.repeat(actions, lengths).astype(np.int64))
    return out


def mlp_decoder(
    rng: np.random.Generator,
    d: int = D_CODE,
    a: int = len(CLASSES),
    h: int = HIDDEN,
    D: int = D_FEAT,
) -> DecoderCheckpoint:
    """A random ``tca-mlp`` decoder: w1 (H, d+A+1), b1 (H,), w2 (D, H), b2 (D,), offset, scale."""
    f = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    return DecoderCheckpoint(
        arch={
            "name": "tca-mlp",
            "latent_dim": d,
            "num_classes": a,
            "hidden_dim": h,
            "feature_dim": D,
            "activation": "relu",
        },
        tensors={
            "w1": f(h, d + a + 1),
            "b1": f(h),
            "w2": f(D, h),
            "b2": f(D),
            "feature_offset": f(D),
            "feature_scale": (np.abs(f(D)) + 0.5).astype(np.float32),
        },
    )


def build(name: str, seed: int = 0) -> tuple[ArchiveContent, str]:
    """The content and code dtype of golden archive ``name`` (see :data:`NAMES`; the
    ``-f16dec`` names of :data:`NAMES_1_1` are their base content)."""
    name = name.removesuffix("-f16dec")
    rng = np.random.default_rng(seed)
    videos = ["S1_Cheese_C1", "S2_Tea_C1", "S3_Coffee_C1"]
    labels = _labels(rng, len(videos))
    splits = {"train.split1": videos[:2], "test.split1": videos[2:]}
    stats = {
        "source_bytes_float32": int(sum(map(len, labels))) * D_FEAT * 4,
        "reconstruction_mse": 0.125,
        "note": "golden",
    }
    k = {"mlp": 2, "mlp-float16": 2, "mlp-int8": 2, "tca-random": 2, "repeat": 1, "raw": None}[name]
    table = SegmentTable.from_labels(videos, labels, k)
    n = table.num_codes
    code_dtype = {"mlp-float16": "float16", "mlp-int8": "int8"}.get(name, "float32")
    if name in ("repeat", "raw"):
        codec = {"repeat": "mean", "raw": "raw"}[name]
        config = {"id": codec} if name == "raw" else {"id": "mean", "k": 1}
        return ArchiveContent(
            codec,
            config,
            "repeat",
            CLASSES,
            splits,
            table,
            rng.normal(size=(n, D_FEAT)).astype(np.float32),
            D_FEAT,
            D_FEAT,
            None,
            stats,
        ), code_dtype
    decoder = mlp_decoder(rng)
    if name == "tca-random":
        return ArchiveContent(
            "tca-random",
            {"id": "tca-random", "k": 2, "seed": 12345},
            "mlp",
            CLASSES,
            splits,
            table,
            None,
            D_CODE,
            D_FEAT,
            decoder,
            stats,
        ), code_dtype
    codes = rng.normal(size=(n, D_CODE)).astype(np.float32)
    return ArchiveContent(
        "inversion",
        {"id": "inversion", "k": 2, "latent_dim": D_CODE},
        "mlp",
        CLASSES,
        splits,
        table,
        codes,
        D_CODE,
        D_FEAT,
        decoder,
        stats,
    ), code_dtype


NAMES = ("mlp", "repeat", "raw", "tca-random", "mlp-float16", "mlp-int8")
#: format 1.1 goldens; ``-f16dec``: the decoder stored as float16
NAMES_1_1 = ("mlp-f16dec", "mlp", "mlp-int8", "repeat")
#: set -> (directory, names, format version)
GOLDEN_SETS = {"v1": (GOLDEN_DIR, NAMES, "1.0"), "v1_1": (GOLDEN_DIR_1_1, NAMES_1_1, "1.1")}


def decoder_dtype(name: str) -> str:
    return "float16" if name.endswith("-f16dec") else "float32"


def expected_arrays(path: Path) -> dict[str, np.ndarray]:
    """What ``path`` must give, read through today's reader (+ reference decode if available)."""
    from tascodec.format import open_archive

    try:
        from tascodec.decode import decode_reference
    except ImportError:  # pragma: no cover - the decoder is written by another module
        decode_reference = None
    out: dict[str, np.ndarray] = {}
    with open_archive(path) as ar:
        out["videos"] = np.array(ar.videos)
        for i, v in enumerate(ar.videos):
            out[f"labels_{i}"] = ar.labels(v)
            out[f"codes_{i}"] = ar.codes(v)
            if decode_reference is not None:
                t = ar.table
                rows = t.video_slice(i)
                out[f"decoded_{i}"] = decode_reference(
                    ar.decode_kind,
                    ar.codes(v),
                    t.seg_action[rows],
                    t.seg_length[rows],
                    t.seg_num_instances[rows],
                    ar.decoder(),
                )
    return out


def save_decoded(archive: Path, npz: Path) -> None:
    """``npz`` holding what ``archive`` decodes to: ``x/<video>`` frames, ``y/<video>`` labels
    (the expected arrays of the grouped goldens, ``tests/data/v2*``)."""
    from tascodec.format import open_archive

    with open_archive(archive) as ar:
        arrays = {f"x/{v}": ar.decode(v) for v in ar.videos}
        arrays.update({f"y/{v}": ar.labels(v) for v in ar.videos})
    np.savez(npz, **arrays)


def write_grouped_golden(content, directory: Path, name: str) -> None:
    """Write ``content`` as the golden ``directory/name.tasz`` (int8 codes) and the arrays it
    decodes to beside it (``save_decoded``): the grouped goldens' one recipe."""
    from tascodec.format import write_archive

    directory.mkdir(parents=True, exist_ok=True)
    out = write_archive(content, directory / f"{name}.tasz", code_dtype="int8", overwrite=True)
    save_decoded(out, directory / f"{name}.npz")


def check_grouped_golden(content, directory: Path, name: str, version: str, kind: str,
                         scratch: Path) -> None:
    """The golden ``directory/name.tasz`` opens as ``version`` with decode kind ``kind``,
    verifies, decodes to its ``.npz`` (within the spec's tolerance), and writing ``content``
    again gives the same bytes."""
    from tascodec.format import open_archive, write_archive

    want = np.load(directory / f"{name}.npz")
    with open_archive(directory / f"{name}.tasz") as ar:
        assert ar.format_version == version and ar.decode_kind == kind
        assert ar.verify() == []
        for v in ar.videos:
            np.testing.assert_allclose(ar.decode(v), want[f"x/{v}"], rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(ar.labels(v), want[f"y/{v}"])
    rebuilt = write_archive(content, scratch / f"{name}.tasz", code_dtype="int8")
    assert rebuilt.read_bytes() == (directory / f"{name}.tasz").read_bytes()


def main() -> int:
    from tascodec.format import write_archive

    if os.environ.get("TASCODEC_REGEN_GOLDEN") != "1":
        print(
            "refusing: set TASCODEC_REGEN_GOLDEN=1 to (re)write the golden archives",
            file=sys.stderr,
        )
        return 1
    sets = sys.argv[1:] or list(GOLDEN_SETS)
    for key in sets:
        directory, names, version = GOLDEN_SETS[key]
        directory.mkdir(parents=True, exist_ok=True)
        for name in names:
            content, code_dtype = build(name)
            path = directory / f"{name}.tasz"
            write_archive(content, path, overwrite=True, code_dtype=code_dtype,
                          decoder_dtype=decoder_dtype(name), format_version=version)
            np.savez(directory / f"{name}.npz", **expected_arrays(path))
            print(f"{key}/{path.name}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --------------------------------------------------------------------- helpers for the tests
def zip_entries(path: Path) -> dict[str, bytes]:
    """Every entry of a (valid) ZIP file, in order: name -> bytes."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def write_zip(
    path: Path,
    entries: dict[str, bytes] | list[tuple[str, bytes]],
    compress_type: int | None = None,
) -> Path:
    """Write entries (STORED unless ``compress_type``) as a ZIP; duplicates allowed in a list."""
    import warnings
    import zipfile

    items = entries.items() if isinstance(entries, dict) else entries
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name" when a test asks for one
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in items:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED if compress_type is None else compress_type
                zf.writestr(info, data)
    return Path(path)


def with_manifest(entries: dict[str, bytes]) -> dict[str, bytes]:
    """``entries`` of a 1.1 archive with its root manifest recomputed (as a writer would)."""
    import json

    from tascodec.format.manifest import MANIFEST_KEY, build_manifest

    root = json.loads(entries["zarr.json"])
    root["attributes"][MANIFEST_KEY] = build_manifest(entries.items())
    return {**entries, "zarr.json": json.dumps(root).encode()}
