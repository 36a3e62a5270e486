"""``tascodec.encode``: read a dataset, sample its videos, run a codec, write one archive.

Two uses, recorded as ``stats["purpose"]`` in the archive header:

* ``"condense-split"`` (``split`` given): condense a split's videos for training. A learned
  codec trains its TCA on the whole split; sequence sampling (``gamma``) picks the stored
  videos; the archive's splits are ``{split: stored videos}``.
* ``"archive"`` (``split=None``): ship a whole dataset. ``gamma`` must be 1; every video is
  stored and every split kept.

A failure or Ctrl-C before the writer's final rename leaves nothing at ``out`` (and an existing
file there untouched): the writer writes a temporary file and renames it into place.
"""

from __future__ import annotations

import inspect
import os
import shutil
import time
from pathlib import Path
from typing import Any

from ..codecs import get_codec
from ..codecs.options import check_codec_options, codec_class, given_options
from ..dataset.layout import StandardDataset
from ..dataset.layout_write import check_file_name
from ..dataset.sampling import DEFAULT_GAMMA, SAMPLING_METHODS, select_videos
from ..dataset.source import EncodeSource
from ..errors import OutputExistsError, TascodecError, UnknownCodecError
from ..extras import require_torch
from ..format import open_archive, write_archive
from ..rate.fit import SIZE_ATTEMPTS, Trial, fit_within
from ..runtime.determinism import deterministic_algorithms
from ..runtime.devices import resolve_device
from ..runtime.parallel import current, entry_point
from ..runtime.tempfiles import mkdtemp_beside
from ..tca.recipes import recipe_for_device
from .summary import EncodeSummary

__all__ = ["encode", "EncodeSummary", "SAMPLING_METHODS", "DEFAULT_TARGET_RATIO", "DEFAULT_CODEC"]

_FLOAT32 = 4
#: the codec of a plain ``encode``
DEFAULT_CODEC = "pca"
#: the archive size of a plain ``encode``: float32 bytes of the split / this
DEFAULT_TARGET_RATIO = 50.0
#: how a budgeted encode stores codes and decoder (quantised codes lose ~1e-4 relative
#: error, far below the condensation error, and buy 4x more codes than float32)
AUTO_CODE_DTYPE = "int8"
AUTO_DECODER_DTYPE = "float16"


def _build_codec(codec: str | dict[str, Any], k: int | None, recipe: str, code_dtype: str,
                 params: dict[str, Any]):
    """The codec instance; ``k`` / ``recipe`` go to codecs that take them, dtype to ``raw``."""

    if isinstance(codec, dict):
        return get_codec(codec, **params)
    proto = get_codec(codec)
    accepted = inspect.signature(type(proto)).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    extra: dict[str, Any] = {}
    if "k" in accepted and k != "auto":
        extra["k"] = k
    elif k == "auto" and "budget_bytes" in params:
        extra["k"] = k  # a budgeted encode; other codecs keep their own K
    if "recipe" in accepted:
        extra["recipe"] = recipe
    if "dtype" in accepted and "dtype" not in params and code_dtype != "float32":
        extra["dtype"] = code_dtype
    unknown = sorted(set(params) - set(accepted)) if not takes_any else []
    if unknown:
        raise TascodecError(
            f"codec {codec!r} does not take parameter(s) {unknown}; it takes "
            f"{sorted(p for p in accepted if p != 'self')}"
        )
    try:
        return get_codec(codec, **extra, **params)
    except TypeError as exc:
        raise TascodecError(f"codec {codec!r}: bad parameters ({exc})") from None


#: the codec's phases in ``EncodeSummary.seconds``: name -> key of the content's stats
_PHASES = {"gather": "gather_seconds", "train": "train_seconds", "codes": "code_seconds",
           "mse": "mse_seconds"}
def _write_within(out: Path, max_bytes: int | None, overwrite: bool, content: Any,
                  budget: int | None, condense: Any, writing: dict[str, str]
                  ) -> tuple[Any, Path, dict[str, int]]:
    """Write ``content`` to ``out`` only once the file is at most ``max_bytes`` (None: any);
    returns the content, ``out`` and the archive's sizes by part. Trial archives are written
    beside ``out``, never over it, and fitted under the limit by ``rate.fit.fit_within``
    (``condense(budget)`` makes the next content; a trained TCA is reused from the cache). On
    several ranks (``tascodec.runtime.parallel``) every rank condenses, rank 0 writes, and
    renames into place only after every rank's last exchange.
    """

    world = current()
    scratch = world.run("writing the archive", lambda: mkdtemp_beside(out)
                        if world.is_main else None)
    trial_path = scratch / out.name if scratch is not None else None

    def written(made: Any) -> Trial[Any]:
        size = world.run_all("writing the archive", lambda: Path(write_archive(
            made, trial_path, overwrite=True, **writing)).stat().st_size
            if world.is_main else None)[0]
        return Trial(made, size, size)

    def trial(next_budget: int) -> Trial[Any]:
        return written(condense(next_budget)[0])

    try:
        first = written(content)
        if max_bytes is None or budget is None:
            fitted = first
        else:
            fitted = fit_within(
                trial, max_bytes, budget, first=first,
                too_small=lambda size, least: (
                    f"{out}: max_bytes={max_bytes} cannot hold the archive: the smallest rate "
                    f"control makes here is {size} bytes; raise max_bytes to at least {least}"),
                not_met=lambda size: (
                    f"{out}: max_bytes={max_bytes} not met after {SIZE_ATTEMPTS} attempts (the "
                    f"last came out at {size} bytes); nothing was written: lower max_bytes' "
                    "target or raise it"))

        def free() -> dict[str, int] | None:
            if world.is_main and out.exists() and not overwrite:
                raise OutputExistsError(out)
            return _archive_sizes(trial_path) if world.is_main else None
        sizes = world.run_all("writing the archive", free)[0]  # the last exchange
        if world.is_main:
            os.replace(trial_path, out)
        return fitted.result, out, sizes
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def budgeted_codec(codec: str | dict[str, Any], k: Any) -> bool:
    """Whether this encode is budgeted: ``k="auto"`` for a codec that allocates instances."""
    if k != "auto":
        return False

    try:
        cls = codec_class(codec)
    except UnknownCodecError:  # refused with the known ids where the codec is built
        return False
    return "budget_bytes" in getattr(cls, "own_params", ())


def _check_budget(target_ratio: Any, max_bytes: Any) -> None:
    if target_ratio is not None and max_bytes is not None:
        raise TascodecError("give target_ratio or max_bytes, not both")
    if target_ratio is not None and (isinstance(target_ratio, bool) or not isinstance(
            target_ratio, (int, float)) or not target_ratio > 1):
        raise TascodecError(f"target_ratio must be a number > 1 (float32 bytes of the split "
                            f"over the archive's), got {target_ratio!r}")
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                  or max_bytes < 1):
        raise TascodecError(f"max_bytes must be a positive integer, got {max_bytes!r}")


def _only_videos(dataset, videos: list[str], splits: dict[str, list[str]], split: Any
                 ) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(stored, training videos, splits) restricted to ``videos`` of ``dataset``."""
    if split is not None:
        raise TascodecError("videos= chooses the stored videos itself: pass split=None")
    unknown = sorted(set(videos) - set(dataset.videos))
    if unknown or not videos or len(set(videos)) != len(videos):
        raise TascodecError(f"videos: need distinct videos of {dataset.root}; unknown: "
                            f"{unknown[:10]}")
    keep = set(videos)
    kept = {k: [v for v in vs if v in keep] for k, vs in splits.items()}
    return list(videos), list(videos), {k: vs for k, vs in kept.items() if vs}


def _frames(dataset, videos: list[str]) -> int:
    return int(sum(dataset.num_frames(v) for v in videos))


@entry_point
def encode(
    dataset_dir: str | Path,
    out: str | Path,
    *,
    codec: str | dict[str, Any] = DEFAULT_CODEC,
    k: int | str | None = "auto",
    gamma: float | None = None,
    split: str | None = "train.split1",
    sampling: str = "diverse",
    device: str = "auto",
    seed: int = 0,
    recipe: str = "auto",
    code_dtype: str | None = None,
    target_ratio: float | None = None,
    max_bytes: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    cache: dict[str, Any] | None = None,
    videos: list[str] | None = None,
    deterministic: bool = False,
    **codec_params: Any,
) -> EncodeSummary:
    """Condense the dataset at ``dataset_dir`` into the archive ``out``; returns a summary.

    ``codec``: an id (``list_codecs()``) or a ``get_config()`` dict; ``k``: instances per
    segment for codecs that take it: ``"auto"`` (the default; rate control: K per segment
    allocated under the byte budget, see ``tascodec.rate``), an integer, or ``None`` (one per
    frame); ``target_ratio`` (default ``DEFAULT_TARGET_RATIO``) or ``max_bytes``: the budget
    of ``k="auto"``, as float32 bytes of the split (or dataset) over the archive's bytes, or
    the archive's bytes (a hard limit); ``gamma``: fraction of the split's videos stored
    (default ``sampling.DEFAULT_GAMMA``, every video, for every codec and ``k``); ``recipe``:
    training recipe of learned codecs (``"auto"``: ``gpu`` on CUDA, else ``cpu``); ``code_dtype``: how the writer stores codes (default
    ``AUTO_CODE_DTYPE`` with ``k="auto"``, else float32; ``raw``'s ``dtype`` sets it);
    ``cache``: shared between calls so several codecs reuse one trained TCA;
    ``videos``: store (and train on) exactly these videos of the dataset (with ``split=None``;
    splits are kept for them): how ``tascodec.append`` encodes new videos;
    ``deterministic``: run the codec inside ``tascodec.runtime.determinism.deterministic_algorithms``
    (deterministic kernels, TF32 off, restored after): on CUDA the archive then repeats bit
    for bit on the same machine and software; on a CPU it does anyway;
    ``codec_params``: further codec parameters.

    ``k``, ``recipe``, ``code_dtype``, ``target_ratio`` and ``max_bytes`` go only to the
    codecs that take them (``Codec.encode_options``): one set to something other than its
    default for a codec that does not take it (``k=3`` for ``mean``, ``code_dtype="int8"`` for
    ``raw``) raises ``TascodecError``. Needs the ``torch`` extra (``tascodec.extras``).
    Under ``torchrun`` the ranks share the work and rank 0 writes (``tascodec.runtime.parallel``).
    """

    require_torch("tascodec.encode")
    t0 = time.perf_counter()
    check_codec_options(codec, given_options(k=k, recipe=recipe, code_dtype=code_dtype,
                                             target_ratio=target_ratio, max_bytes=max_bytes))
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TascodecError(f"seed must be an integer, got {seed!r}")
    world = current()
    dev = str(resolve_device(world.device_for(device)))  # checked before any data is read
    progress = progress and world.is_main

    recipe = recipe_for_device(recipe, dev)
    budgeted = budgeted_codec(codec, k)
    if gamma is None:
        gamma = DEFAULT_GAMMA
    if code_dtype is None:
        code_dtype = AUTO_CODE_DTYPE if budgeted else "float32"
    if budgeted:
        _check_budget(target_ratio, max_bytes)
        codec_params = {**codec_params, "code_dtype": code_dtype,
                        "decoder_dtype": codec_params.get("decoder_dtype", AUTO_DECODER_DTYPE),
                        "budget_bytes": 1}  # validated now, set once the split is read
    codec_obj = _build_codec(codec, k, recipe, code_dtype, codec_params)
    raw_dtype = codec_obj.params.get("dtype") if codec_obj.codec_id == "raw" else None
    if raw_dtype is not None and code_dtype not in ("float32", raw_dtype):
        raise TascodecError(
            f"code_dtype={code_dtype!r} contradicts the raw codec's dtype={raw_dtype!r}"
        )
    store_dtype = raw_dtype or code_dtype

    dataset = StandardDataset(dataset_dir)
    stored, training, splits, split_name = select_videos(dataset, split, gamma, sampling, seed)
    if videos is not None:
        stored, training, splits = _only_videos(dataset, list(videos), splits, split)

    for video in stored:  # what could not be exported back is refused before any work
        check_file_name(video, f"{dataset.root / 'groundTruth'}")
    t_read = time.perf_counter()
    source = EncodeSource(
        dataset=dataset, videos=stored, training_videos=training, splits=splits,
        device=dev, seed=seed, progress=progress, cache=cache if cache is not None else {},
    )
    facts = _source_facts(dataset, stored, training, split, split_name, gamma, sampling, seed,
                          dev, recipe, deterministic, store_dtype)

    def condense(budget: int | None) -> tuple[Any, Any]:
        """(content with its stats, the codec that made it), under ``budget`` when given."""
        codec_now = codec_obj
        if budget is not None:
            # The default ratio may not fit a tiny dataset (the container's fixed bytes
            # dominate): then the budget is raised to the smallest workable one; an explicit
            # ratio or size is a limit.
            strict = target_ratio is not None or max_bytes is not None
            codec_now = _build_codec(codec, k, recipe, code_dtype,
                                     {**codec_params, "budget_bytes": budget,
                                      "strict_budget": strict})
        with deterministic_algorithms(deterministic):
            made = codec_now.encode(source)
        t_codec = time.perf_counter()
        made.stats.update(facts)
        made.stats.update({
            "target_ratio": (None if budget is None or max_bytes is not None
                             else float(target_ratio or DEFAULT_TARGET_RATIO)),
            "max_bytes": max_bytes, "encode_seconds": t_codec - t0,
            "codec_seconds": t_codec - t_read})
        if store_dtype != "float32" and raw_dtype is None and made.codes is not None:
            made.stats["reconstruction_mse_note"] = (
                f"measured with float32 codes, before the writer stores them as {store_dtype}"
            )
        return made, codec_now

    budget = None
    if budgeted:
        budget = int(max_bytes) if max_bytes is not None else int(
            facts["split_bytes_float32"] / (target_ratio or DEFAULT_TARGET_RATIO))
    content, codec_obj = condense(budget)
    t_codec = time.perf_counter()
    writing = {"code_dtype": store_dtype,
               "decoder_dtype": codec_obj.params.get("decoder_dtype", "float32")}
    if max_bytes is None and not world.distributed:
        path = Path(write_archive(content, out, overwrite=overwrite, **writing))
        sizes = _archive_sizes(path)
    else:
        content, path, sizes = _write_within(out, max_bytes, overwrite, content, budget,
                                             condense, writing)
    t_end = time.perf_counter()
    missed = (float(target_ratio or DEFAULT_TARGET_RATIO)
              if (content.stats.get("operating_point") or {}).get("budget_raised")
              and max_bytes is None else None)
    seconds = {"read+sample": t_read - t0, **{name: float(content.stats[key]) for name, key
                                               in _PHASES.items() if key in content.stats},
               "codec": t_codec - t_read, "write": t_end - t_codec, "total": t_end - t0}
    return _summary(content, path, sizes, split_name, seconds, dev, missed)


def _source_facts(dataset: Any, stored: list[str], training: list[str], split: str | None,
                  split_name: Any, gamma: float, sampling: str, seed: int, dev: str,
                  recipe: str, deterministic: bool, store_dtype: str) -> dict[str, Any]:
    """What an archive's header says about where its content came from (``stats``)."""
    frames, source_frames = _frames(dataset, stored), _frames(dataset, training)
    dim = dataset.feature_dim
    trimmed = {v: n for v, n in dataset.trimmed.items() if v in set(training)}
    return {
        "purpose": "archive" if split is None else "condense-split",
        "split": split_name,
        "gamma": float(gamma),
        "sampling": sampling if split is not None else "none",
        "seed": seed,
        "source_videos": len(stored),
        "source_frames": frames,
        "source_bytes_float32": frames * dim * _FLOAT32,
        "split_videos": len(training),
        "split_frames": source_frames,
        "split_bytes_float32": source_frames * dim * _FLOAT32,
        "feature_dim": dim,
        "num_classes": dataset.num_classes,
        "trimmed_frames": int(sum(trimmed.values())),
        "trimmed_videos": len(trimmed),
        "device": dev,
        "recipe": recipe,
        "deterministic": bool(deterministic),
        "code_dtype": store_dtype,
    }


def _summary(content: Any, path: Path, sizes: dict[str, int], split_name: Any,
             seconds: dict[str, float], dev: str, missed: float | None) -> EncodeSummary:
    """The ``EncodeSummary`` of an archive written from ``content``."""
    stats = content.stats
    dim = int(stats["feature_dim"])
    mse, relative = stats.get("reconstruction_mse"), stats.get("relative_mse")
    return EncodeSummary(
        path=path,
        codec=content.codec,
        codec_config=dict(content.codec_config),
        purpose=stats["purpose"],
        split=split_name,
        videos=int(stats["source_videos"]),
        split_videos=int(stats["split_videos"]),
        frames=int(stats["source_frames"]),
        segments=int(content.table.seg_action.shape[0]),
        codes=content.table.num_codes,
        code_dim=content.code_dim,
        feature_dim=dim,
        bytes=sizes,
        original_bytes=int(stats["source_bytes_float32"]),
        source_bytes=int(stats["split_bytes_float32"]),
        reconstruction_mse=None if mse is None else float(mse),
        relative_mse=None if relative is None else float(relative),
        seconds=seconds,
        device=dev,
        target_missed=missed,
    )


def _archive_sizes(path: Path) -> dict[str, int]:
    """Bytes by part, from the reader."""

    with open_archive(path) as archive:
        return {k: int(v) for k, v in archive.sizes().items()}
