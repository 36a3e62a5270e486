"""Shared machinery of the learned codecs (``encoded``, ``inversion``, ``tca-random``).

* ``LearnedCodec``: parameters = a recipe name plus overrides of its fields; ``get_config``
  after ``encode`` holds every resolved value, so the archive records what actually ran.
* ``trained_model``: trains the TCA, or reuses one from ``source.cache`` keyed by the model and
  training configuration, the dataset, the training videos and the seed: the codecs of one
  benchmark run share a single model.
* ``decoded_mse``: the per-frame MSE (original units, and relative to each channel's spread) of
  the frames a reader will decode, computed with ``tascodec.decode`` one video at a time.

Shapes: N codes, d code width, D feature width, T frames of a video.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import asdict
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..content import MLP, ArchiveContent, SegmentTable
from ..decode import decode_segments, prepare_decoder
from ..errors import BudgetTooSmallError, TascodecError
from ..format.v1 import CODE_DTYPES
from ..jsonvalues import json_values
from ..rate import WIDTH_SAMPLE_FRAMES, allocate, latent_width, operating_point, widen_to_budget
from ..runtime.parallel import current
from ..tca.recipes import auto_model_dims, get_recipe
from .base import Codec
from .base import build_table, make_content

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset.source import EncodeSource

__all__ = ["BUDGET_PARAMS", "LEARNED_ENCODE_OPTIONS", "LearnedCodec", "checked_k",
           "trained_model", "decoded_mse", "sharded_codes", "table_rows", "TRAIN_KEYS"]

# Recipe fields that define the trained model (and so the cache key).
TRAIN_KEYS = ("latent_dim", "hidden_dim", "epochs", "batch_size", "lr", "kl_weight",
              "max_frames_per_epoch", "patience", "holdout", "memory_budget")
#: codec parameters of a budgeted encode (k="auto"): the archive's byte budget and how the
#: writer will store codes and decoder (they decide how many codes the budget buys)
BUDGET_PARAMS = ("budget_bytes", "code_dtype", "decoder_dtype", "strict_budget")
#: ``Codec.encode_options`` of the codecs that store K codes per segment (rate control included)
LEARNED_ENCODE_OPTIONS = {"k": None, "recipe": None, "code_dtype": CODE_DTYPES,
                          "target_ratio": None, "max_bytes": None}


def checked_k(codec_id: str, k: Any, params: dict[str, Any]) -> int | str | None:
    """``k``: a positive integer, ``None`` (one instance per frame) or ``"auto"`` (allocated
    under ``budget_bytes``, which only ``"auto"`` takes)."""
    if k == "auto":
        budget = params.get("budget_bytes")
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise TascodecError(f"codec {codec_id!r}: k='auto' needs budget_bytes, a positive "
                                f"integer (the archive's size), got {budget!r}")
        return "auto"
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
        raise TascodecError(f"codec {codec_id!r}: k must be a positive integer, None (per "
                            f"frame) or 'auto', got {k!r}")
    given = sorted(set(params) & {"budget_bytes"})
    if given:
        raise TascodecError(f"codec {codec_id!r}: {given} needs k='auto', got k={k!r}")
    return None if k is None else int(k)


def resolve_recipe(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The recipe ``name`` with ``overrides`` applied, as a flat JSON-serialisable dict."""

    resolved = json_values(asdict(get_recipe(name, **overrides)), f"recipe {name!r}")
    resolved.pop("name", None)
    return resolved


class LearnedCodec(Codec):
    """Base of the codecs built on a trained TCA; ``params`` = ``recipe`` + overrides.

    Subclasses implement ``make_codes(model, source, table, resolved) -> (codes, stats)``.
    """

    decode_kind = MLP
    encode_options = {"recipe": None}
    #: codec parameters that are not recipe fields
    own_params: tuple[str, ...] = ()

    def __init__(self, *, recipe: str = "cpu", **params: Any) -> None:
        if not isinstance(recipe, str):
            raise TascodecError(f"codec {self.codec_id!r}: recipe must be a name, got {recipe!r}")
        super().__init__(recipe=recipe, **params)
        # Validate the recipe and the overrides now, not after minutes of work.
        self.resolved()

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if k != "recipe" and k not in self.own_params}

    def resolved(self) -> dict[str, Any]:
        """Every recipe field after the overrides."""
        try:
            return resolve_recipe(self.params["recipe"], self.overrides())
        except (TypeError, TascodecError) as exc:
            raise TascodecError(f"codec {self.codec_id!r}: bad recipe or parameter ({exc})"
                                ) from None

    def k_instances(self) -> int | str | None:
        """K instances per segment (``None``: one per frame; ``"auto"``: allocated under
        ``budget_bytes``, see ``tascodec.rate``); learned codecs default to 8."""
        return self.params.get("k", 8)

    def make_codes(self, model: Any, source: "EncodeSource", table: SegmentTable,
                   resolved: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray, dict]:
        """(codes to store or None, codes to decode with (N, d), stats)."""
        raise NotImplementedError  # pragma: no cover

    def encode(self, source: "EncodeSource") -> ArchiveContent:
        start = time.perf_counter()
        resolved = self.resolved()
        budgeted = self.k_instances() == "auto"
        point, frames, gather_seconds = None, None, 0.0
        if budgeted:
            table = build_table(source, 1)
            if resolved.get("latent_dim") is None:  # d from the data: one read gives both
                t_gather = time.perf_counter()
                frames = gathered_frames(source, resolved, width=True)
                gather_seconds = time.perf_counter() - t_gather
            point = budget_point(source, table, resolved, self.params,
                                 width=None if frames is None else frames.width)
            resolved["latent_dim"], resolved["hidden_dim"] = point.latent_dim, point.hidden_dim
            table = allocated_table(table, point.num_codes)
        else:
            resolved["latent_dim"], resolved["hidden_dim"] = auto_model_dims(
                source.feature_dim, resolved.get("latent_dim"), resolved.get("hidden_dim"))
            table = build_table(source, self.k_instances())
        model, train_stats = trained_model(source, resolved, frames)
        frames = None  # the training frames are not needed past training
        if self.params.get("decoder_dtype", "float32") == "float16":
            model = decoder_as_stored(model)
        stored, decode_codes, stats = self.make_codes(model, source, table, resolved)
        ckpt = model.decoder_checkpoint()
        t_mse = time.perf_counter()
        stats["reconstruction_mse"], stats["relative_mse"] = decoded_mse(
            source, table, decode_codes, ckpt)
        if point is not None:
            stats["operating_point"] = point.as_dict()
        stats.update(train_stats)
        stats["gather_seconds"] = gather_seconds + train_stats.get("gather_seconds", 0.0)
        world = current()
        if world.distributed:
            stats["processes"] = {"world_size": world.size, "backend": world.backend}
        stats["mse_seconds"] = time.perf_counter() - t_mse
        stats["encode_seconds"] = time.perf_counter() - start
        config = {"id": self.codec_id, **{k: self.params[k] for k in self.own_params
                                          if k in self.params}, "recipe": self.params["recipe"],
                  **resolved}
        return make_content(self, source, table, stored, code_dim=int(model.latent_dim),
                            decoder=ckpt, config=config, stats=json_values(stats, "stats"))


def _cache_key(source: "EncodeSource", train: dict[str, Any]) -> str:
    root = str(getattr(source.dataset, "root", id(source.dataset)))
    key = json.dumps({"train": train, "dataset": root, "videos": list(source.training_videos),
                      "seed": source.seed, "device": source.device,
                      "frames": getattr(source, "frames_tag", "features")}, sort_keys=True)
    return "tca:" + hashlib.sha256(key.encode()).hexdigest()


def gathered_frames(source: "EncodeSource", resolved: dict[str, Any], *, width: bool) -> Any:
    """The training frames ``train_tca`` reads for ``resolved`` (``tca.frames``), with the
    rate control's width sample when ``width``: one read of every training video."""
    from ..tca.train import training_frames  # lazy: torch (imported by that module)

    train = {k: resolved[k] for k in TRAIN_KEYS if k in resolved}
    return training_frames(source, seed=source.seed,
                           width_frames=WIDTH_SAMPLE_FRAMES if width else None, **train)


def trained_model(source: "EncodeSource", resolved: dict[str, Any],
                  frames: Any = None) -> tuple[Any, dict]:
    """The TCA for ``source`` and ``resolved``: trained now (on ``frames`` when given, else
    on what ``gathered_frames`` reads now), or reused from ``source.cache``.

    Returns the model and stats (``train_seconds``, ``train_reused``, the training report,
    ``gather_seconds`` when it read the frames).
    """
    from ..tca.train import train_tca  # lazy: torch (imported by that module)

    train = {k: resolved[k] for k in TRAIN_KEYS if k in resolved}
    key = _cache_key(source, train)
    hit = source.cache.get(key)
    if hit is not None:
        model, report = hit
        return model, {"train_reused": True, "train_seconds": 0.0, "train": report}
    start, gather_seconds = time.perf_counter(), 0.0
    if frames is None:
        frames = gathered_frames(source, resolved, width=False)
        gather_seconds, start = time.perf_counter() - start, time.perf_counter()
    model, report = train_tca(source, **train, device=source.device, seed=source.seed,
                              progress=source.progress, frames=frames)
    report_dict = json_values(report.as_dict(), "training report")
    source.cache[key] = (model, report_dict)
    return model, {"train_reused": False, "train_seconds": time.perf_counter() - start,
                   "train": report_dict, "gather_seconds": gather_seconds}


def decoded_mse(source: "EncodeSource", table: SegmentTable, codes: np.ndarray,
                decoder: Any, kind: str = MLP) -> tuple[float, float]:
    """Per-frame MSE of what a reader decodes from ``codes``, in one pass over the videos:
    ``(mse in original units, relative mse)``, the latter with each channel's error divided by
    its spread squared (``source.channel_spread``, else the decoder's normalisation scale; 1.0
    = an error as large as the channel's spread). On several ranks each decodes its share of
    the videos and the sums are shared. ``kind``: the decode kind (``content.MLP``,
    ``content.MLP_LERP``).
    """
    world = current()
    first, stop = world.shard(table.video_num_frames)
    sums = world.run("the reconstruction error", lambda: _error_sums(
        source, table, codes, decoder, range(first, stop), kind))
    sq_err, rel_err, count = world.all_reduce_sum_(np.array(sums, np.float64),
                                                   "the reconstruction error")
    return float(sq_err / max(count, 1)), float(rel_err / max(count, 1))


def _error_sums(source: "EncodeSource", table: SegmentTable, codes: np.ndarray, decoder: Any,
                videos: range, kind: str = MLP) -> tuple[float, float, float]:
    """(squared error, relative squared error, values) over the table's ``videos``."""

    prep = prepare_decoder(decoder)
    first_seg, first_code = table.video_first_segment, table.video_first_code
    spread = source.channel_spread
    if spread is None:
        spread = decoder.tensors["feature_scale"]
    weight = 1.0 / np.square(np.maximum(np.asarray(spread, np.float64), 1e-12))
    sq_err, rel_err, count = 0.0, 0.0, 0
    for v in videos:
        video = table.video_names[v]
        segs = slice(int(first_seg[v]), int(first_seg[v + 1]))
        x_hat = decode_segments(kind, codes[first_code[v]:first_code[v + 1]],
                                table.seg_action[segs], table.seg_length[segs],
                                table.seg_num_instances[segs], prep)
        x = np.asarray(source.features(video), dtype=np.float32)
        per_channel = np.square(x - x_hat, dtype=np.float64).sum(0)  # (D,)
        sq_err += float(per_channel.sum())
        rel_err += float(per_channel @ weight)
        count += x.size
    return sq_err, rel_err, float(count)


def table_rows(table: SegmentTable, first: int, stop: int) -> SegmentTable:
    """The videos ``[first, stop)`` of ``table`` as a table of their own."""
    segs = slice(int(table.video_first_segment[first]), int(table.video_first_segment[stop]))
    return SegmentTable(
        video_names=list(table.video_names[first:stop]),
        video_num_frames=table.video_num_frames[first:stop].copy(),
        video_num_segments=table.video_num_segments[first:stop].copy(),
        seg_action=table.seg_action[segs].copy(), seg_length=table.seg_length[segs].copy(),
        seg_num_instances=table.seg_num_instances[segs].copy())


def sharded_codes(table: SegmentTable, code_dim: int, make: Any, what: str
                  ) -> tuple[np.ndarray, list[Any]]:
    """Codes (N, ``code_dim``) float32 of every instance of ``table``, in table order, from
    ``make(sub_table, first_code) -> (codes (n, code_dim), info)``, and every call's ``info``.

    Alone: one call on the whole table. On several ranks (``tascodec.runtime.parallel``) each calls it
    on its share of the videos (contiguous, balanced by frames; ``first_code`` is the share's
    first row in ``table``), and the shares are summed into the whole on every rank (each row
    is nonzero on one rank only: exact). ``make`` must give every instance the code it would
    get in the whole table (the learned codecs' codes are per instance).
    """
    world = current()
    if not world.distributed:
        codes, info = make(table, 0)
        return codes, [info]
    first, stop = world.shard(table.video_num_frames)
    bounds = table.video_first_code
    out = np.zeros((table.num_codes, int(code_dim)), np.float32)

    def share() -> Any:
        if stop == first:
            return None
        codes, info = make(table_rows(table, first, stop), int(bounds[first]))
        out[bounds[first]:bounds[stop]] = codes
        return info

    infos = world.run_all(what, share)
    world.all_reduce_sum_(out, what)
    return out, [i for i in infos if i is not None]


def budget_point(source: "EncodeSource", table: SegmentTable, resolved: dict[str, Any],
                 params: dict[str, Any], width: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> Any:
    """The ``OperatingPoint`` of a budgeted encode (``k="auto"``): d from the data (``width``:
    the normalised frames and labels ``gathered_frames`` keeps for it, read now when absent)
    unless the recipe fixes it, then H and the number of codes from ``params["budget_bytes"]``."""

    budget = params.get("budget_bytes")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise TascodecError(f"codec k='auto' needs a positive budget_bytes, got {budget!r}")
    reserved = int(source.reserved_bytes)
    d = resolved.get("latent_dim")
    from_data = d is None
    if from_data:
        if width is None:  # not gathered by the caller
            width = gathered_frames(source, resolved, width=True).width
        x, y = width
        d = latent_width(x, y)
    dims = dict(feature_dim=source.feature_dim, num_classes=len(source.class_names),
                num_segments=int(table.seg_length.size))
    try:
        point = operating_point(max(int(budget) - reserved, 1), latent_dim=int(d),
                                code_dtype=params.get("code_dtype", "int8"),
                                decoder_dtype=params.get("decoder_dtype", "float16"),
                                hidden_dim=resolved.get("hidden_dim"),
                                strict=bool(params.get("strict_budget", True)), **dims)
    except BudgetTooSmallError as exc:
        if not reserved:
            raise
        least = exc.minimum_bytes + reserved
        raise BudgetTooSmallError(f"{exc}, after the {reserved} bytes spent before the codes "
                                  f"(at least {least} bytes in all)", least) from None
    if from_data and resolved.get("hidden_dim") is None and not point.budget_raised:
        point = widen_to_budget(point, num_frames=int(table.seg_length.sum()), **dims)
    return point


def decoder_as_stored(model: Any) -> Any:
    """A copy of ``model`` whose decoder weights are rounded to float16, as the archive stores
    them (the (D,) normalisation stays float32), so inversion fits codes to the decoder a
    reader will use."""

    import torch  # lazy: torch

    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in rounded.decoder.parameters():  # w1, b1, w2, b2; not the normalisation
            tensor.copy_(tensor.to(torch.float16).to(tensor.dtype))
    return rounded


def allocated_table(table: SegmentTable, num_codes: int) -> SegmentTable:
    """``table`` with K per segment from ``tascodec.rate.allocate`` (N = ``num_codes``)."""

    out = replace(table, seg_num_instances=allocate(table.seg_length, num_codes))
    out.check()
    return out
