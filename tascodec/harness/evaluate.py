"""Fidelity harness: how well does a segmentation model trained on decoded data do on the
ORIGINAL test set?

``evaluate_archive(archive, dataset_dir)`` trains one model per seed (``backbone="mstcn"``,
the default, or ``"asformer"``) on the archive's decoded training videos (or, with
``archive=None``, on the original training features of ``dataset_dir``) and scores each on
the original test features of ``dataset_dir``: Acc, Edit, F1@{10,25,50} (in %, with the
metric ``convention`` of ``tascodec.harness.metrics``, ``"asformer"`` by default), mean and sample
std over seeds, plus the storage bytes (the archive file; for the original, the float32
bytes of the training features) and their ratio to the float32 original.

The result type, merging runs of several seeds and the table are in
``tascodec.harness.fidelity_result`` (``FidelityResult``, ``combine_results``, ``format_results``).

Shapes: features (D, T) float32, labels (T,) int64; decoded archive videos come out (T, D)
and are transposed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..dataset.layout import StandardDataset
from ..dataset.splits import split_names
from ..errors import TascodecError
from ..extras import require_torch
from ..format import open_archive
from ..runtime.determinism import deterministic_algorithms
from ..runtime.devices import resolve_device
from .backbones import trainer
from .fidelity_result import (
    METRIC_KEYS,
    FidelityResult,
    check_seeds,
    combine_results,
    scores_of,
)
from .fidelity_result import with_original as _attach_original
from .items import DecodedItems, OriginalItems, decode_device, worker_pool
from .metrics import CONVENTIONS, check_convention, evaluate_segmentation

__all__ = ["evaluate_archive", "evaluate_items"]


def _open_dataset(dataset_dir: str | os.PathLike[str]) -> Any:
    return StandardDataset(dataset_dir)


def _open_archive(path: Path) -> Any:
    return open_archive(path)


def _background_ids(dataset: Any, background: Sequence[Any]) -> tuple[int, ...]:
    """Background classes given by name or id -> ids."""
    ids = []
    for b in background:
        if isinstance(b, (int, np.integer)) and 0 <= int(b) < dataset.num_classes:
            ids.append(int(b))
        elif isinstance(b, str) and b in dataset.class_names:
            ids.append(dataset.class_names.index(b))
        else:
            raise TascodecError(
                f"background: {b!r} is not a class of {dataset.root / 'mapping.txt'} "
                f"({dataset.num_classes} classes)"
            )
    return tuple(ids)


def evaluate_items(
    train_items: Sequence[Any],
    dataset: Any,
    test_videos: list[str],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 50,
    device: str = "auto",
    progress: bool = True,
    background: Sequence[Any] = (),
    mstcn_options: Mapping[str, Any] | None = None,
    backbone: str = "mstcn",
    convention: str = "asformer",
    asformer_options: Mapping[str, Any] | None = None,
    deterministic: bool = False,
) -> tuple[list[dict[str, float]], str, list[float]]:
    """Train one model per seed on ``train_items``; score each on ``test_videos`` of ``dataset``.

    ``backbone``: ``"mstcn"`` (``mstcn.train_mstcn``) or ``"asformer"``
    (``asformer.train_asformer``). ``mstcn_options`` passes architecture / optimiser settings
    to ``train_mstcn`` (keys: num_stages, num_layers, num_f_maps, lr, batch_size),
    ``asformer_options`` to ``train_asformer`` (keys: size, num_decoders, num_layers,
    num_f_maps, lr, weight_decay, batch_size, channel_masking_rate); each only with its
    backbone. ``convention``: the metrics' (``tascodec.harness.metrics``). ``deterministic``: train
    and predict inside ``tascodec.runtime.determinism.deterministic_algorithms`` (what makes CUDA
    results repeat; the CPU's repeat anyway). Items may be host arrays or tensors on the
    device (trained on as they are). Returns (metrics per seed, device, training seconds per
    seed).
    """
    check_convention(convention)
    by_convention, dev, seconds = _train_and_score(
        train_items, dataset, test_videos, seeds=seeds, epochs=epochs, device=device,
        progress=progress, background=background, mstcn_options=mstcn_options,
        backbone=backbone, asformer_options=asformer_options, deterministic=deterministic)
    return by_convention[convention], dev, seconds


def _train_and_score(
    train_items: Sequence[Any],
    dataset: Any,
    test_videos: list[str],
    *,
    seeds: Sequence[int],
    epochs: int,
    device: str,
    progress: bool,
    background: Sequence[Any],
    mstcn_options: Mapping[str, Any] | None,
    backbone: str,
    asformer_options: Mapping[str, Any] | None,
    deterministic: bool,
) -> tuple[dict[str, list[dict[str, float]]], str, list[float]]:
    """``evaluate_items``, each seed's predictions scored under every metric convention
    (``metrics.CONVENTIONS``): ({convention: metrics per seed}, device, seconds per seed)."""
    from .mstcn import predict  # lazy: torch (imported by that module)

    train, options = trainer(backbone, mstcn_options, asformer_options)
    dev = resolve_device(device)
    background_ids = _background_ids(dataset, background)
    gt = [dataset.labels(v) for v in test_videos]
    per_seed: dict[str, list[dict[str, float]]] = {c: [] for c in CONVENTIONS}
    seconds = []
    for seed in tqdm(check_seeds(seeds), desc="seeds", unit="seed", disable=not progress, leave=False):
        start = time.perf_counter()
        with deterministic_algorithms(deterministic):
            model = train(
                train_items,
                num_classes=dataset.num_classes,
                epochs=epochs,
                seed=seed,
                device=dev,
                progress=progress,
                **options,
            )
            seconds.append(time.perf_counter() - start)
            preds = [predict(model, np.asarray(dataset.features(v))) for v in test_videos]
        for convention in CONVENTIONS:
            scores = evaluate_segmentation(gt, preds, background=background_ids,
                                           convention=convention)
            per_seed[convention].append({key: float(scores[key]) for key in METRIC_KEYS})
    return per_seed, str(dev), seconds


def _scored(items: Sequence[Any], dataset: Any, test_videos: list[str], seeds: tuple[int, ...],
            epochs: int, device: str, progress: bool, background: Sequence[Any],
            deterministic: bool, model_kwargs: Mapping[str, Any]
            ) -> tuple[dict[str, dict[str, Any]], str, list[float]]:
    """Train and score once; ({convention: {"per_seed", "mean", "std"}}, device, seconds)."""
    options = {k: v for k, v in model_kwargs.items() if k != "convention"}
    per_seed, dev, seconds = _train_and_score(
        items, dataset, test_videos, seeds=seeds, epochs=epochs, device=device,
        progress=progress, background=background, deterministic=deterministic, **options)
    return {c: scores_of(runs) for c, runs in per_seed.items()}, dev, seconds


def _main_scores(scores: dict[str, dict[str, Any]], convention: str) -> dict[str, Any]:
    """FidelityResult's score fields: ``convention``'s at the top, every one's by name."""
    main = scores[convention]
    return {"per_seed": main["per_seed"], "mean": main["mean"], "std": main["std"],
            "by_convention": scores}


def evaluate_archive(
    archive_path: str | os.PathLike[str] | None,
    dataset_dir: str | os.PathLike[str],
    *,
    split: str = "split1",
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 50,
    device: str = "auto",
    progress: bool = True,
    background: Sequence[Any] = (),
    name: str | None = None,
    mstcn_options: Mapping[str, Any] | None = None,
    jobs: int = 1,
    backbone: str = "mstcn",
    convention: str = "asformer",
    asformer_options: Mapping[str, Any] | None = None,
    decode: str = "auto",
    deterministic: bool = False,
    with_original: bool = False,
) -> FidelityResult:
    """Fidelity of an archive's decoded training set (``None``: the original) on the real test set.

    Training videos of an archive are its videos outside the dataset's test split (and inside
    its train split when the archive records one); any left out are listed in
    ``excluded_videos``. Class names and feature width must match the dataset's.

    ``backbone`` (``"mstcn"`` or ``"asformer"``, with ``mstcn_options`` / ``asformer_options``)
    is the model trained per seed, ``convention`` (``"asformer"`` or ``"mstcn"``) the metrics'
    last-segment end convention (``tascodec.harness.metrics``); both are recorded in the result.

    ``jobs > 1`` trains the seeds in that many worker processes (spawned, each with an equal
    share of torch's CPU threads): on a CPU, batch-size-1 MS-TCN training uses one core well
    and several poorly, so seeds in parallel finish sooner. Results equal those of ``jobs=1``
    run with the same thread count; on CUDA only with ``deterministic=True`` (then training
    and prediction use deterministic kernels, TF32 off: see ``tascodec.runtime.determinism``). The
    workers divide the decoded-video cache between them (``cache_limit``): on one GPU they
    keep half its free memory together.

    ``decode``: where the archive's training videos are decoded (``decode_device``):
    ``"auto"`` decodes on the training device when it is CUDA, with the torch decoder, and
    keeps the decoded tensors there while they fit (half its free memory), so no seed or
    epoch decodes again or copies host to device; on a CPU it decodes with NumPy, as before.
    ``"numpy"`` / ``"torch"`` force one decoder.

    ``with_original=True`` (an archive only) also trains on the original training features
    with the same seeds, epochs, backbone and convention, and records their scores in the
    result's ``original`` (``FidelityResult.kept``: each metric as a % of the original's).
    A result of an archive records its ``archive_fingerprint`` (``Archive.identity``) and
    ``format_version``.

    Needs the torch extra.
    """

    require_torch("tascodec.evaluate_archive (tascodec eval)")
    started = time.perf_counter()
    seeds = check_seeds(seeds)
    if epochs < 1:
        raise TascodecError(f"epochs must be >= 1, got {epochs}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise TascodecError(f"jobs must be an integer >= 1, got {jobs!r}")
    trainer(backbone, mstcn_options, asformer_options)  # argument errors before any work
    where = decode_device(decode, device)  # and device errors

    check_convention(convention)
    if with_original and archive_path is not None:
        same = dict(split=split, seeds=seeds, epochs=epochs, device=device, progress=progress,
                    background=background, mstcn_options=mstcn_options, jobs=jobs,
                    backbone=backbone, convention=convention,
                    asformer_options=asformer_options, decode=decode,
                    deterministic=deterministic)
        result = evaluate_archive(archive_path, dataset_dir, name=name, **same)
        base = evaluate_archive(None, dataset_dir, **same)
        return replace(_attach_original(result, base),
                       seconds=time.perf_counter() - started)
    train_key, test_key = split_names(split)
    model_kwargs = dict(
        backbone=backbone, convention=convention,
        mstcn_options=dict(mstcn_options) if mstcn_options else None,
        asformer_options=dict(asformer_options) if asformer_options else None,
    )
    if jobs > 1 and len(seeds) > 1:
        kwargs = dict(split=split, epochs=epochs, device=device, progress=False,
                      background=tuple(background), name=name, decode=decode,
                      deterministic=deterministic, **model_kwargs)
        with worker_pool(min(jobs, len(seeds))) as pool:
            futures = [pool.submit(evaluate_archive, archive_path, dataset_dir, seeds=(seed,),
                                   **kwargs) for seed in seeds]
            parts = [f.result() for f in futures]
        return replace(combine_results(parts), seconds=time.perf_counter() - started)
    dataset = _open_dataset(dataset_dir)
    train_videos = dataset.split(train_key)
    test_videos = dataset.split(test_key)
    if not test_videos:
        raise TascodecError(f"{dataset.root}: split {test_key!r} has no videos")
    dim = int(dataset.feature_dim)
    original_bytes = int(sum(dataset.num_frames(v) for v in train_videos)) * dim * 4
    dataset_name = Path(dataset.root).name

    if archive_path is None:
        if not train_videos:
            raise TascodecError(f"{dataset.root}: split {train_key!r} has no videos")
        items: Sequence[Any] = OriginalItems(dataset, train_videos)
        scores, dev, train_s = _scored(items, dataset, test_videos, seeds, epochs, device,
                                       progress, background, deterministic, model_kwargs)
        return FidelityResult(
            name=name or "original", dataset=dataset_name, split=train_key.split(".", 1)[1],
            codec=None, seeds=seeds, epochs=epochs, **_main_scores(scores, convention),
            storage_bytes=original_bytes, original_bytes=original_bytes,
            train_videos=len(train_videos), train_frames=original_bytes // (4 * dim),
            test_videos=len(test_videos), seconds=time.perf_counter() - started, device=dev,
            train_seconds=train_s, backbone=backbone, convention=convention,
        )

    path = Path(archive_path)
    if not path.is_file():
        raise TascodecError(f"{path}: archive not found")
    with _open_archive(path) as archive:
        if list(archive.class_names) != list(dataset.class_names):
            raise TascodecError(
                f"{path}: class names {list(archive.class_names)} differ from those of "
                f"{dataset.root / 'mapping.txt'} {list(dataset.class_names)}"
            )
        test_set = set(test_videos)
        recorded = (getattr(archive, "splits", None) or {}).get(train_key)
        allowed = set(recorded) if recorded else None
        used, excluded = [], []
        for video in archive.videos:
            if video in test_set or (allowed is not None and video not in allowed):
                excluded.append(video)
            else:
                used.append(video)
        if not used:
            raise TascodecError(
                f"{path}: no training videos: all {len(excluded)} stored videos are in "
                f"{test_key!r} or outside {train_key!r}"
            )
        items = DecodedItems(archive, used, dim, str(path), device=where)
        scores, dev, train_s = _scored(items, dataset, test_videos, seeds, epochs, device,
                                       progress, background, deterministic, model_kwargs)
        config = dict(getattr(archive, "codec_config", None) or {}) or None
        frames = items.frames()
        fingerprint = getattr(archive, "identity", None)
        format_version = getattr(archive, "format_version", None)
    return FidelityResult(
        name=name or path.name, dataset=dataset_name, split=train_key.split(".", 1)[1],
        codec=config, seeds=seeds, epochs=epochs, **_main_scores(scores, convention),
        storage_bytes=path.stat().st_size, original_bytes=original_bytes,
        train_videos=len(used), train_frames=frames, test_videos=len(test_videos),
        excluded_videos=excluded, seconds=time.perf_counter() - started, device=dev,
        train_seconds=train_s, backbone=backbone, convention=convention,
        archive_fingerprint=None if fingerprint is None else str(fingerprint),
        format_version=None if format_version is None else str(format_version),
    )
