"""Run-to-run determinism on any device: a scoped switch and a segment sum without atomics.

``deterministic_algorithms(enabled)`` is a context manager: inside it torch uses only
deterministic kernels (``torch.use_deterministic_algorithms(True)``: an op without one raises
instead of running), cuDNN picks deterministic convolution algorithms without benchmarking,
and float32 matmuls and convolutions run in full float32 (TF32 off). Every flag it sets,
and ``CUBLAS_WORKSPACE_CONFIG`` (which CUDA >= 10.2 needs for deterministic cuBLAS), is put
back on the way out, so callers' settings survive. ``enabled=False`` changes nothing.

``segment_sum(values, index, rows)``: ``out[r] = sum of values[i] with index[i] == r`` for a
NON-DECREASING ``index`` (frames grouped by instance, as every caller here has them), through
``torch.segment_reduce``: one thread per (row, column) adds its segment's values in order, on
the CPU and on CUDA alike, so the result is deterministic without any flag and bit-identical
to ``index_add_`` on the CPU (which adds in the same order). ``index_add_`` on CUDA uses
atomics, whose order (and so the float result) changes from run to run.

What holds where (see docs/ARCHITECTURE.md, "Determinism"):

* CPU: a seed gives the same model, codes and scores run after run, with or without the flag.
* CUDA, default: inversion and the encoder's mean codes use ``segment_sum``, so for a trained
  model they are run-to-run identical; training (TCA, MS-TCN, ASFormer) may differ in the
  last bits between runs (cuDNN algorithm choice, TF32 convolutions, atomics in backward
  kernels), and so may everything computed from its result.
* CUDA with ``deterministic=True``: the whole run repeats bit for bit on the same machine,
  torch and driver (CUDA promises no more: other GPUs or versions may round differently).
  CUDA and CPU results agree to float32 rounding, not bit for bit, in either mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CUBLAS_WORKSPACE", "deterministic_algorithms", "segment_sum"]

#: ``CUBLAS_WORKSPACE_CONFIG`` value set (when unset) inside ``deterministic_algorithms``
CUBLAS_WORKSPACE = ":4096:8"
_CUBLAS_ENV = "CUBLAS_WORKSPACE_CONFIG"


def _flags() -> dict[str, Any]:
    """The global settings ``deterministic_algorithms`` changes, as they are now."""
    import torch

    return {
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_precision": torch.get_float32_matmul_precision(),
        "cublas_env": os.environ.get(_CUBLAS_ENV),
    }


def _apply(flags: dict[str, Any]) -> None:
    import torch

    torch.use_deterministic_algorithms(flags["deterministic"], warn_only=flags["warn_only"])
    torch.backends.cudnn.deterministic = flags["cudnn_deterministic"]
    torch.backends.cudnn.benchmark = flags["cudnn_benchmark"]
    torch.backends.cudnn.allow_tf32 = flags["cudnn_tf32"]
    # "highest" is TF32 off for cuBLAS matmuls (torch.backends.cuda.matmul.allow_tf32 follows).
    torch.set_float32_matmul_precision(flags["matmul_precision"])
    if flags["cublas_env"] is None:
        os.environ.pop(_CUBLAS_ENV, None)
    else:
        os.environ[_CUBLAS_ENV] = flags["cublas_env"]


@contextmanager
def deterministic_algorithms(enabled: bool = True) -> Iterator[None]:
    """Inside: deterministic kernels only, cuDNN deterministic and not benchmarking, TF32 off;
    every setting restored after (also on an exception). Nests. ``enabled=False``: no change.

    ``CUBLAS_WORKSPACE_CONFIG`` is set to ``CUBLAS_WORKSPACE`` when CUDA is there and it is
    unset; cuBLAS reads it when it creates a handle, so a process that already ran CUDA
    matmuls keeps its workspace (deterministic anyway on one stream, which is how tascodec
    computes); export it before starting Python to be sure.
    """
    if not enabled:
        yield
        return
    import torch

    saved = _flags()
    wanted = {**saved, "deterministic": True, "warn_only": False, "cudnn_deterministic": True,
              "cudnn_benchmark": False, "cudnn_tf32": False, "matmul_precision": "highest"}
    if saved["cublas_env"] is None and torch.cuda.is_available():
        wanted["cublas_env"] = CUBLAS_WORKSPACE
    try:
        _apply(wanted)
        yield
    finally:
        _apply(saved)


def segment_sum(values: Any, index: Any, rows: int) -> Any:
    """Rows ``(rows, *rest)``: ``out[r] = values[index == r].sum(0)`` (0 for an empty row).

    ``values`` (m, *rest), ``index`` (m,) int64, non-decreasing, in ``[0, rows)`` (not
    checked: a check would cost a device sync; a caller's index comes from sorted frame
    tables). Deterministic on every device, equal to ``zeros.index_add_(0, index, values)``
    bit for bit on the CPU (same order of additions).
    """
    import torch

    m = values.shape[0]
    if m == 0 or rows == 0:
        return values.new_zeros((rows, *values.shape[1:]))
    bounds = torch.arange(rows + 1, device=index.device, dtype=index.dtype)
    offsets = torch.searchsorted(index, bounds)  # (rows + 1,): row r is [offsets[r], offsets[r+1])
    flat = values.reshape(m, -1)  # 2-D always: one thread per (row, column) on CUDA too
    out = torch.segment_reduce(flat, "sum", offsets=offsets, axis=0, unsafe=True)
    return out.reshape(rows, *values.shape[1:])
