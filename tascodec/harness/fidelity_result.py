"""The fidelity harness's result: ``FidelityResult`` (scores per seed, their mean and sample
std, storage bytes and ratio to the float32 original), ``combine_results`` (runs of one
training set with different seeds -> one result), ``with_original`` (the original's scores,
trained the same way, so a result says what % of each metric it keeps), ``from_dict`` (a
``tascodec eval --json`` result read back, for ``tascodec card``) and ``format_results`` (a
markdown table). A result of an archive names its ``archive_fingerprint``
(``Archive.identity``): a dataset card shows it only beside the archive it was measured on.

Metrics are ``METRIC_KEYS`` (Acc, Edit, F1@{10,25,50} in %); ``evaluate.evaluate_archive``
produces the results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from ..errors import TascodecError
from ..units import format_bytes

__all__ = [
    "METRIC_KEYS",
    "FidelityResult",
    "check_seeds",
    "summarise",
    "scores_of",
    "combine_results",
    "format_results",
    "with_original",
]

METRIC_KEYS = ("acc", "edit", "f1@10", "f1@25", "f1@50")
_COLUMN_NAMES = {"acc": "Acc", "edit": "Edit", "f1@10": "F1@10", "f1@25": "F1@25", "f1@50": "F1@50"}


@dataclass
class FidelityResult:
    """Scores of models trained on one training set, one per seed, on the original test set."""

    name: str  # "original", or the archive file name
    dataset: str
    split: str
    codec: dict[str, Any] | None  # the archive's codec configuration; None for the original
    seeds: tuple[int, ...]
    epochs: int
    per_seed: list[dict[str, float]]
    mean: dict[str, float]
    std: dict[str, float]  # sample std over seeds (0 with one seed)
    storage_bytes: int
    original_bytes: int  # float32 bytes of the original training features of the split
    train_videos: int
    train_frames: int
    test_videos: int
    excluded_videos: list[str] = field(default_factory=list)  # archive videos left out
    seconds: float = 0.0  # wall time of the whole evaluation
    device: str = "cpu"
    train_seconds: list[float] = field(default_factory=list)  # model training, per seed
    backbone: str = "mstcn"  # the segmentation model trained: "mstcn" or "asformer"
    convention: str = "asformer"  # the metrics' last-segment end convention
    #: ``Archive.identity`` of the archive measured (the root digest; since format 1.1 it
    #: covers every entry): what ties the result to one file. ``None`` for the original.
    archive_fingerprint: str | None = None
    format_version: str | None = None  # the archive's
    #: the original's scores, trained the same way (backbone, epochs, seeds, convention):
    #: ``{"mean", "std", "per_seed"}`` (``with_original``; with ``"by_convention"`` when the
    #: original recorded it), so ``kept`` can be said
    original: dict[str, Any] | None = None
    #: the same models scored under every metric convention (``metrics.CONVENTIONS``):
    #: ``{convention: {"per_seed", "mean", "std"}}``; the one named by ``convention`` equals
    #: ``per_seed`` / ``mean`` / ``std``. Empty in results written before it existed.
    by_convention: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def kept(self) -> dict[str, float] | None:
        """Each metric's mean as a % of the original's (``None`` without ``original``)."""
        if not self.original:
            return None
        base = self.original["mean"]
        return {k: 100.0 * self.mean[k] / base[k] if base[k] else math.nan
                for k in METRIC_KEYS}

    def kept_under(self, convention: str) -> dict[str, float] | None:
        """Each metric's mean under ``convention`` as a % of the original's under the same
        convention (``None`` when this result or its original did not record it)."""
        mine = self.by_convention.get(convention)
        theirs = ((self.original or {}).get("by_convention") or {}).get(convention)
        if mine is None or theirs is None:
            return None
        return {k: 100.0 * mine["mean"][k] / theirs["mean"][k] if theirs["mean"][k]
                else math.nan for k in METRIC_KEYS}

    @property
    def ratio(self) -> float:
        """float32 original bytes / storage bytes (50 = fifty times smaller): the one meaning
        of "ratio" in every table and JSON (``tascodec info``, ``encode``, ``eval``)."""
        return self.original_bytes / self.storage_bytes if self.storage_bytes else math.nan

    @property
    def compression(self) -> float:
        """Deprecated: the old name of ``ratio`` (the same value); read ``ratio``."""
        return self.ratio

    @property
    def storage_fraction(self) -> float:
        """storage bytes / float32 original bytes (0.02 = 2% of the original)."""
        return self.storage_bytes / self.original_bytes if self.original_bytes else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (adds ``ratio``, the factor, ``storage_fraction``, and
        ``compression``: deprecated, a copy of ``ratio`` kept while readers of stored results
        (``benchmarks/bench_rate.py``, earlier ``eval --json`` files) still look it up)."""
        out = asdict(self)
        out["seeds"] = list(self.seeds)
        out["ratio"] = self.ratio
        out["storage_fraction"] = self.storage_fraction
        out["compression"] = self.ratio
        out["kept"] = self.kept
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "result") -> FidelityResult:
        """A result from :meth:`to_dict`'s JSON (``tascodec eval --json``); a
        ``TascodecError`` naming ``where`` and the field when it is not one."""
        if not isinstance(data, dict):
            raise TascodecError(f"{where}: not a tascodec eval --json result (a JSON object "
                                "is expected)")
        known = {f.name: f for f in fields(cls)}
        missing = [n for n, f in known.items() if n not in data
                   and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise TascodecError(f"{where}: not a tascodec eval --json result: no field "
                                f"{', '.join(repr(m) for m in missing)}")
        values = {k: v for k, v in data.items() if k in known}
        try:
            values["seeds"] = tuple(int(s) for s in values["seeds"])
            for key in ("mean", "std"):
                values[key] = {k: float(values[key][k]) for k in METRIC_KEYS}
        except (TypeError, ValueError, KeyError) as exc:
            raise TascodecError(f"{where}: field 'seeds', 'mean' or 'std' is malformed "
                                f"({exc!r})") from None
        return cls(**values)


def with_original(result: FidelityResult, original: FidelityResult) -> FidelityResult:
    """``result`` with the scores of ``original`` (a result of ``evaluate_archive(None, ...)``)
    as its ``original``: both must be trained and scored the same way (dataset, split,
    backbone, epochs, seeds, metric convention), else a ``TascodecError`` naming what
    differs."""
    if original.codec is not None or original.archive_fingerprint is not None:
        raise TascodecError(f"the original's result is of an archive ({original.name}), not "
                            "of the original features")
    for attr in ("dataset", "split", "backbone", "epochs", "seeds", "convention"):
        if getattr(result, attr) != getattr(original, attr):
            raise TascodecError(
                f"the original's result differs in {attr} ({getattr(original, attr)!r}, the "
                f"archive's {getattr(result, attr)!r}): kept percentages compare like with like")
    scores: dict[str, Any] = {"mean": dict(original.mean), "std": dict(original.std),
                              "per_seed": [dict(s) for s in original.per_seed]}
    if original.by_convention:
        scores["by_convention"] = {c: scores_of(v["per_seed"])
                                   for c, v in original.by_convention.items()}
    return replace(result, original=scores)


def scores_of(per_seed: Sequence[dict[str, float]]) -> dict[str, Any]:
    """``{"per_seed", "mean", "std"}`` of per-seed scores (``summarise``)."""
    mean, std = summarise(list(per_seed))
    return {"per_seed": [dict(s) for s in per_seed], "mean": mean, "std": std}


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """``seeds`` as a tuple of ints; an error when empty or when a seed repeats."""
    out = tuple(int(s) for s in seeds)
    if not out:
        raise TascodecError("seeds: at least one seed is needed")
    if len(set(out)) != len(out):
        raise TascodecError(f"seeds: repeated seed in {list(out)}")
    return out


def summarise(per_seed: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and sample std (0 with one run) of every metric over per-seed scores."""
    mean, std = {}, {}
    for key in METRIC_KEYS:
        values = np.array([run[key] for run in per_seed], dtype=np.float64)
        mean[key] = float(values.mean())
        std[key] = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return mean, std


def combine_results(results: Sequence[FidelityResult]) -> FidelityResult:
    """One result from runs of the same training set with different seeds (e.g. run in parallel).

    Per-seed scores and training times are concatenated in the given order, mean and std
    recomputed, and ``seconds`` summed. Every run must describe the same training set, test set
    and epoch count, and no seed may repeat.
    """
    if not results:
        raise TascodecError("combine_results: no results to combine")
    first = results[0]
    same = ("name", "dataset", "split", "codec", "epochs", "storage_bytes", "original_bytes",
            "train_videos", "train_frames", "test_videos", "excluded_videos", "backbone",
            "convention", "archive_fingerprint", "format_version")
    for r in results[1:]:
        for attr in same:
            if getattr(r, attr) != getattr(first, attr):
                raise TascodecError(
                    f"combine_results: {attr} differs between runs "
                    f"({getattr(first, attr)!r} vs {getattr(r, attr)!r})"
                )
    seeds = check_seeds([s for r in results for s in r.seeds])
    per_seed = [scores for r in results for scores in r.per_seed]
    mean, std = summarise(per_seed)
    conventions = set.intersection(*(set(r.by_convention) for r in results))
    by_convention = {c: scores_of([s for r in results for s in r.by_convention[c]["per_seed"]])
                     for c in sorted(conventions)}
    return replace(
        first, seeds=seeds, per_seed=per_seed, mean=mean, std=std, by_convention=by_convention,
        seconds=float(sum(r.seconds for r in results)),
        train_seconds=[t for r in results for t in r.train_seconds],
    )


def format_results(results: Sequence[FidelityResult]) -> str:
    """A markdown table: one row per result, metrics as mean +- std over seeds (the mean
    alone for one seed), the storage, the ratio (the factor) and the % of the original."""
    head = ["training set", "backbone", *(_COLUMN_NAMES[k] for k in METRIC_KEYS), "storage",
            "ratio", "% of original", "seeds", "epochs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r.name, r.backbone]
        cells += [f"{r.mean[k]:.1f}" + (f" ± {r.std[k]:.1f}" if len(r.seeds) > 1 else "")
                  for k in METRIC_KEYS]
        cells += [
            format_bytes(r.storage_bytes),
            f"{r.ratio:.1f}x",
            f"{100 * r.storage_fraction:.2f}%",
            str(len(r.seeds)),
            str(r.epochs),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
