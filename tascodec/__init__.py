"""tascodec: condensed, versioned storage for temporal action segmentation datasets.

Public API (imported lazily, so the NumPy-only reading path never imports torch)::

    tascodec.encode(dataset_dir, "out.tasz")      # condense a dataset into one archive
    with tascodec.open("out.tasz") as archive:     # read: videos, labels, decode(video)
        x = archive.decode(archive.videos[0])      # (T, D) float32
    ds = tascodec.TaszDataset("out.tasz")          # a torch Dataset of (D, T) features
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import (
    DatasetLayoutError,
    FormatError,
    IntegrityError,
    TascodecError,
    UnknownCodecError,
    UnsupportedVersionError,
)

from .runtime.determinism import prepare_cublas_workspace as _prepare_cublas_workspace

# CUBLAS_WORKSPACE_CONFIG (setdefault) before any torch CUDA work: torch reads it once per process
_prepare_cublas_workspace()

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "encode",
    "append",
    "merge",
    "open",
    "Archive",
    "TaszDataset",
    "collate",
    "StandardDataset",
    "synthesize",
    "evaluate_segmentation",
    "dataset_card",
    "write_card",
    "get_codec",
    "list_codecs",
    "TascodecError",
    "DatasetLayoutError",
    "FormatError",
    "UnsupportedVersionError",
    "UnknownCodecError",
    "IntegrityError",
]

# name -> (module, attribute); resolved on first access. ``append`` is lazy like the rest: its
# module is ``tascodec.encoding.append``, so importing it never rebinds ``tascodec.append``.
_LAZY = {
    "encode": ("tascodec.encoding.encode", "encode"),
    "append": ("tascodec.encoding.append", "append"),
    "merge": ("tascodec.encoding.grow", "merge"),
    "open": ("tascodec.format", "open_archive"),
    "Archive": ("tascodec.format", "Archive"),
    "TaszDataset": ("tascodec.loading.torch_data", "TaszDataset"),
    "collate": ("tascodec.loading.batches", "collate"),
    "StandardDataset": ("tascodec.dataset.layout", "StandardDataset"),
    "synthesize": ("tascodec.synth", "synthesize"),
    "evaluate_segmentation": ("tascodec.harness.metrics", "evaluate_segmentation"),
    "evaluate_archive": ("tascodec.harness.evaluate", "evaluate_archive"),
    "export_archive": ("tascodec.loading.export", "export_archive"),
    "plot_archive": ("tascodec.plots", "plot_archive"),
    "dataset_card": ("tascodec.report.card", "dataset_card"),
    "write_card": ("tascodec.report.card", "write_card"),
    "get_codec": ("tascodec.codecs", "get_codec"),
    "list_codecs": ("tascodec.codecs", "list_codecs"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tascodec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
