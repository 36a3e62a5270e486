"""Run-to-run determinism on any device: a scoped switch and a segment sum without atomics.

``deterministic_algorithms(enabled)`` is a context manager: inside it torch uses only
deterministic kernels (``torch.use_deterministic_algorithms(True)``: an op without one raises
instead of running), cuDNN picks deterministic convolution algorithms without benchmarking,
and float32 matmuls and convolutions run in full float32 (TF32 off, through the
``fp32_precision`` settings where torch has them (>= 2.9), else the legacy ``allow_tf32`` /
``set_float32_matmul_precision``: torch >= 2.9 raises when a legacy getter reads a state set
through the new API, so only one of the two is ever read). Every flag it sets is put back on
the way out, so callers' settings survive. ``enabled=False`` changes nothing.

``CUBLAS_WORKSPACE_CONFIG`` (which CUDA >= 10.2 needs for deterministic cuBLAS) is read by
torch once, before its first cuBLAS call, so setting it inside the switch comes too late in a
process that already ran CUDA work. ``import tascodec`` therefore sets it
(``prepare_cublas_workspace``: ``os.environ.setdefault``, ``CUBLAS_WORKSPACE``) before any
torch CUDA work of tascodec's; the switch, on a machine with CUDA, refuses with one
``TascodecError`` when it is too late (CUDA already initialised while the variable was unset
or held another value) instead of letting cuBLAS fail inside the work.

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
* CUDA against CPU: one decoder's decode and one model's inversion agree to float32 rounding,
  not bit for bit. A TRAINED result does not: the TCA's reparameterisation noise comes from
  the device's generator (CUDA's Philox stream is not the CPU's Mersenne Twister, so the same
  seed gives other noise), and ``recipe="auto"`` picks the ``gpu`` recipe on CUDA (other
  batch size, learning rate and memory budget). A CUDA encode and a CPU encode of the same
  data are two trainings of equal quality, not one result rounded twice. (Drawing the noise
  on the CPU would cost about 1.7 ms of one CPU core per batch of 1,024 x 256 values, several
  times a GPU training step.)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import TascodecError

__all__ = ["CUBLAS_WORKSPACE", "CUBLAS_DETERMINISTIC", "deterministic_algorithms",
           "prepare_cublas_workspace", "segment_sum"]

#: ``CUBLAS_WORKSPACE_CONFIG`` value ``import tascodec`` sets when the variable is unset
CUBLAS_WORKSPACE = ":4096:8"
#: the values with which cuBLAS is deterministic (CUDA's documentation)
CUBLAS_DETERMINISTIC = (":4096:8", ":16:8")
_CUBLAS_ENV = "CUBLAS_WORKSPACE_CONFIG"
#: why deterministic cuBLAS is out of reach in this process (set at import), else None
_cublas_too_late: str | None = None


def prepare_cublas_workspace() -> None:
    """``CUBLAS_WORKSPACE_CONFIG``: set to ``CUBLAS_WORKSPACE`` when unset (a user's value is
    kept). Called by ``import tascodec``; remembers when CUDA had already started without it
    (torch imported and initialised first), which the switch then refuses."""
    global _cublas_too_late
    value = os.environ.get(_CUBLAS_ENV)
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None) if torch is not None else None
    started = bool(cuda is not None and getattr(cuda, "is_initialized", lambda: False)())
    if started and value not in CUBLAS_DETERMINISTIC:
        _cublas_too_late = (f"CUDA was initialised before tascodec was imported, with "
                            f"{_env_text(value)}")
    os.environ.setdefault(_CUBLAS_ENV, CUBLAS_WORKSPACE)


def _env_text(value: str | None) -> str:
    return f"{_CUBLAS_ENV} unset" if value is None else f"{_CUBLAS_ENV}={value!r}"


def _check_cublas() -> None:
    """Make sure cuBLAS can be deterministic in this process, or raise ``TascodecError``."""
    import torch  # lazy: torch

    if not torch.cuda.is_available():
        return
    value = os.environ.get(_CUBLAS_ENV)
    late = _cublas_too_late
    if late is None and value not in CUBLAS_DETERMINISTIC and torch.cuda.is_initialized():
        late = f"CUDA is already initialised with {_env_text(value)}"
    if late is None and value is None:
        os.environ[_CUBLAS_ENV] = CUBLAS_WORKSPACE  # before any CUDA work: still in time
        return
    if late is None and value not in CUBLAS_DETERMINISTIC:
        late = f"{_CUBLAS_ENV}={value!r} is set"
    if late is not None:
        raise TascodecError(
            f"deterministic=True: {late}, but deterministic cuBLAS needs {_CUBLAS_ENV} set to "
            f"one of {list(CUBLAS_DETERMINISTIC)} before the process's first CUDA work "
            f"(torch reads it once): export {_CUBLAS_ENV}={CUBLAS_WORKSPACE} before starting "
            f"Python, or import tascodec before any CUDA work")


#: the ``fp32_precision`` settings (torch >= 2.9) the switch sets to ``"ieee"``: cuBLAS
#: matmuls, cuDNN convolutions and RNNs, and oneDNN's on the CPU (what the legacy
#: ``set_float32_matmul_precision("highest")`` and ``cudnn.allow_tf32 = False`` covered)
_PRECISION_SETTINGS = (("cuda", "matmul"), ("cudnn", "conv"), ("cudnn", "rnn"),
                       ("mkldnn", "matmul"), ("mkldnn", "conv"), ("mkldnn", "rnn"))


def _precision_settings() -> list[Any] | None:
    """The objects holding ``_PRECISION_SETTINGS``' ``fp32_precision``, or None (torch < 2.9)."""
    import torch  # lazy: torch

    if not hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        return None  # pragma: no cover - torch < 2.9
    return [getattr(getattr(torch.backends, a), b) for a, b in _PRECISION_SETTINGS]


def _flags() -> dict[str, Any]:
    """The global settings ``deterministic_algorithms`` changes, as they are now."""
    import torch  # lazy: torch

    flags = {
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
    }
    settings = _precision_settings()
    if settings is not None:  # never the legacy getters: they raise on new-API state
        flags["precision"] = tuple(s.fp32_precision for s in settings)
    else:  # pragma: no cover - torch < 2.9
        flags["precision"] = (torch.get_float32_matmul_precision(),
                              torch.backends.cudnn.allow_tf32)
    return flags


def _tf32_off() -> tuple[Any, ...]:
    """``_flags()["precision"]`` with TF32 off for cuBLAS, cuDNN (and oneDNN) float32 work."""
    if _precision_settings() is not None:
        return ("ieee",) * len(_PRECISION_SETTINGS)
    return ("highest", False)  # pragma: no cover - torch < 2.9


def _apply(flags: dict[str, Any]) -> None:
    import torch  # lazy: torch

    torch.use_deterministic_algorithms(flags["deterministic"], warn_only=flags["warn_only"])
    torch.backends.cudnn.deterministic = flags["cudnn_deterministic"]
    torch.backends.cudnn.benchmark = flags["cudnn_benchmark"]
    settings = _precision_settings()
    if settings is not None:
        for setting, value in zip(settings, flags["precision"]):
            setting.fp32_precision = value
    else:  # pragma: no cover - torch < 2.9
        # "highest" is TF32 off for cuBLAS matmuls (torch.backends.cuda.matmul.allow_tf32 follows).
        torch.set_float32_matmul_precision(flags["precision"][0])
        torch.backends.cudnn.allow_tf32 = flags["precision"][1]


@contextmanager
def deterministic_algorithms(enabled: bool = True) -> Iterator[None]:
    """Inside: deterministic kernels only, cuDNN deterministic and not benchmarking, TF32 off;
    every setting restored after (also on an exception). Nests. ``enabled=False``: no change.

    With CUDA present, ``TascodecError`` (before any setting changes) when deterministic
    cuBLAS is out of reach in this process (module docstring); an unset
    ``CUBLAS_WORKSPACE_CONFIG`` before any CUDA work is set to ``CUBLAS_WORKSPACE`` and left
    set (torch reads it once: removing it later would change nothing).
    """
    if not enabled:
        yield
        return
    _check_cublas()
    saved = _flags()
    wanted = {**saved, "deterministic": True, "warn_only": False, "cudnn_deterministic": True,
              "cudnn_benchmark": False, "precision": _tf32_off()}
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
    import torch  # lazy: torch

    m = values.shape[0]
    if m == 0 or rows == 0:
        return values.new_zeros((rows, *values.shape[1:]))
    bounds = torch.arange(rows + 1, device=index.device, dtype=index.dtype)
    offsets = torch.searchsorted(index, bounds)  # (rows + 1,): row r is [offsets[r], offsets[r+1])
    flat = values.reshape(m, -1)  # 2-D always: one thread per (row, column) on CUDA too
    out = torch.segment_reduce(flat, "sum", offsets=offsets, axis=0, unsafe=True)
    return out.reshape(rows, *values.shape[1:])
