"""Realistic synthetic datasets in the standard layout (see :mod:`tascodec.synth.presets`).

``synthesize(out_dir, "gtea")`` writes (with ``layout_write.LayoutWriter``) ``features/<video>.npy`` (D, T) float32,
``groundTruth/<video>.txt``, ``mapping.txt``, ``splits/{train,test}.split<k>.bundle`` and a
``synth.json`` describing how the data were made. Deterministic for a seed: video ``i`` depends
only on the seed, the preset, D and ``i`` (not on the number of videos).
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..dataset.layout_write import LayoutWriter
from ..errors import DatasetLayoutError, OutputExistsError, TascodecError
from .features import FeatureModel
from .presets import PRESETS, Preset, VideoSpec, get_preset

__all__ = ["synthesize", "estimate_bytes", "PRESETS", "get_preset", "Preset"]

_LAYOUT_ENTRIES = {"features", "groundTruth", "mapping.txt", "splits", "synth.json"}
_SEED_DOMAIN = 0x5EED


def synthesize(
    out_dir: str | Path,
    preset: str = "tiny",
    *,
    videos: int | None = None,
    dim: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write a synthetic dataset of ``preset`` into ``out_dir`` and return its path.

    ``videos`` defaults to the real dataset's count, ``dim`` (D) to the preset's (2048 for the
    real-sized presets). The data are written into a sibling temporary directory and renamed
    into place at the end, so an interrupted run never leaves a complete-looking dataset.
    A non-empty ``out_dir`` is refused unless ``overwrite`` (and then only if it holds nothing
    but a dataset layout).
    """
    p = get_preset(preset)
    n = p.num_videos if videos is None else videos
    d = p.dim if dim is None else dim
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise TascodecError(f"videos must be an integer >= 2, got {videos!r}")
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise TascodecError(f"dim must be an integer >= 1, got {dim!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TascodecError(f"seed must be a non-negative integer, got {seed!r}")
    out = Path(out_dir)
    _check_target(out, overwrite)

    out.parent.mkdir(parents=True, exist_ok=True)
    need = estimate_bytes(p.name, int(n), int(d))
    free = shutil.disk_usage(out.parent).free
    if need > 0.95 * free:
        raise DatasetLayoutError(
            f"{out}: the {p.name!r} preset with {n} videos at D={d} needs about "
            f"{need / 1e9:.1f} GB, only {free / 1e9:.1f} GB free (reduce videos or dim)"
        )
    specs = _select_videos(p, int(n))
    world = np.random.default_rng([int(seed), _SEED_DOMAIN, 0])
    model = FeatureModel(world, p.num_classes, int(d), p.background_ids(), p.features)
    grammar = p.grammar_factory()

    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        writer = LayoutWriter(tmp, p.class_names)
        iterator = _progress(list(enumerate(specs)), progress, f"synth {p.name}")
        for i, spec in iterator:
            rng = np.random.default_rng([int(seed), _SEED_DOMAIN, 1, i])
            actions, lengths = grammar.sample_video(rng, spec.activity)
            subject_rng = np.random.default_rng(
                [int(seed), _SEED_DOMAIN, 2, zlib.crc32(spec.subject.encode())]
            )
            x = model.features(rng, actions, lengths, model.subject_style(subject_rng))
            writer.write_video(spec.name, x, np.repeat(actions, lengths))
        _write_splits(writer, specs, p.num_folds)
        meta = {
            "generator": "tascodec.synth",
            "preset": p.name,
            "seed": int(seed),
            "videos": len(specs),
            "dim": int(d),
            "background": list(p.background),
            "confusable_pairs": [[p.class_names[a], p.class_names[b]] for a, b in model.confusable],
        }
        (tmp / "synth.json").write_text(json.dumps(meta, indent=1) + "\n")
        writer.write_mapping()  # last: without it the directory does not open as a dataset
        if out.exists():
            shutil.rmtree(out) if any(out.iterdir()) else out.rmdir()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def estimate_bytes(preset: str, videos: int, dim: int) -> int:
    """Approximate size in bytes of a synthetic dataset (features dominate: 4 D bytes/frame)."""
    p = get_preset(preset)
    frames = p.grammar_factory().meta.get("frames_mean", 250.0)
    return int(videos * frames * (4 * dim + 16))


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DatasetLayoutError(f"{out}: exists and is not a directory")
    if not out.is_dir():
        return
    entries = {e.name for e in out.iterdir()}
    if not entries:
        return
    if not overwrite:
        raise OutputExistsError(out, "directory is not empty")
    foreign = sorted(entries - _LAYOUT_ENTRIES)
    if foreign:
        raise DatasetLayoutError(
            f"{out}: refusing to overwrite a directory with entries that are not part of a "
            f"dataset layout: {foreign[:5]}"
        )


def _select_videos(p: Preset, n: int) -> list[VideoSpec]:
    base = p.video_specs()
    out = list(base[:n])
    for i in range(len(base), n):  # more videos than the real dataset: repeat with a suffix
        s = base[i % len(base)]
        out.append(VideoSpec(f"{s.name}_r{i // len(base)}", s.activity, s.group, s.subject))
    return out


def _write_splits(writer: LayoutWriter, specs: list[VideoSpec], folds: int) -> None:
    """Fold k (1-based): test = videos of group k-1, train = the rest; empty folds dropped."""
    written = 0
    for k in range(1, folds + 1):
        test = [s.name for s in specs if s.group == k - 1]
        train = [s.name for s in specs if s.group != k - 1]
        if not test or not train:
            continue
        written += 1
        writer.write_split(f"train.split{k}", train)
        writer.write_split(f"test.split{k}", test)
    if not written:  # pragma: no cover - every preset puts its first two videos in two groups
        raise TascodecError("no split has both train and test videos")


def _progress(items: list, enabled: bool, desc: str):
    if not enabled:
        return items

    return tqdm(items, desc=desc, unit="video")
