"""Shared benchmark helpers: the machine, markdown tables, timing, datasets, result files.

Imported by the benchmark modules as ``from ._common import ...`` (they run as
``python -m benchmarks.<name>``).
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

__all__ = [
    "REPO",
    "SHARED_DATA",
    "machine",
    "machine_line",
    "markdown_table",
    "timer",
    "timed",
    "call_supported",
    "resolve_dataset",
    "write_results",
    "parse_list",
]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Cores (usable / online), CPU model, torch threads, GPU (name or None), versions."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores_online": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover
        info["gpu"] = None
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        pass
    return info


def machine_line(info: dict[str, Any] | None = None) -> str:
    """One line for the top of a benchmark's output."""
    info = info or machine()
    gpu = info.get("gpu") or "no GPU"
    return (
        f"machine: {info['cores_usable']} usable cores ({info['cores_online']} online), "
        f"{info['cpu']}, torch {info.get('torch', '-')} with {info.get('torch_threads', '-')} "
        f"threads, {gpu}; load average {info.get('load_average', '-')}"
    )


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table; cells formatted with ``str``."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    """``with timer() as t: ...`` then ``t["seconds"]`` (wall clock)."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - start


def timed(fn: Callable[..., Any], *args: Any, repeat: int = 1, **kwargs: Any) -> tuple[Any, float]:
    """(result of the last call, best wall seconds over ``repeat`` calls)."""
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return result, best


def call_supported(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call ``fn`` with the keyword arguments its signature takes; returns (result, dropped)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return fn(*args, **kwargs), []
    dropped = sorted(k for k in kwargs if k not in params)
    return fn(*args, **{k: v for k, v in kwargs.items() if k in params}), dropped


def resolve_dataset(name: str, work_dir: Path, *, progress: bool = False) -> Path:
    """A dataset directory for a benchmark name.

    ``gtea-tcn128`` (or any folder of ../shared/data): the real data;
    ``synth:<preset>[:D[:videos]]`` (e.g. ``synth:gtea:2048``, or ``synth:breakfast:2048:40``
    for the first 40 videos, spread over the folds): a synthetic preset made once under
    ``work_dir``; anything else is taken as a path.
    """
    if name.startswith("synth:"):
        parts = name.split(":")
        if len(parts) > 4:
            raise SystemExit(f"dataset {name!r}: expected synth:<preset>[:D[:videos]]")
        preset = parts[1]
        try:
            dim = int(parts[2]) if len(parts) > 2 and parts[2] else None
            videos = int(parts[3]) if len(parts) > 3 else None
        except ValueError:
            raise SystemExit(f"dataset {name!r}: D and videos must be integers") from None
        root = work_dir / (f"synth-{preset}-{dim or 'default'}" + (f"-{videos}v" if videos else ""))
        if not (root / "mapping.txt").is_file():
            from tascodec.synth import synthesize

            synthesize(root, preset=preset, dim=dim, videos=videos, seed=0, overwrite=True,
                       progress=progress)
        return root
    if (SHARED_DATA / name).is_dir():
        return SHARED_DATA / name
    path = Path(name)
    if not path.is_dir():
        raise SystemExit(f"dataset {name!r}: not found (looked in {SHARED_DATA} and as a path)")
    return path



def write_results(out_dir: Path, stem: str, payload: dict[str, Any], markdown: str) -> None:
    """Write ``<stem>.json`` and ``<stem>.md`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown + "\n")
    print(f"wrote {out_dir / (stem + '.json')} and {out_dir / (stem + '.md')}", file=sys.stderr)


def parse_list(text: str, kind: Callable[[str], Any] = str) -> list[Any]:
    """``"a,b"`` -> ['a', 'b'] (converted with ``kind``)."""
    return [kind(p.strip()) for p in text.split(",") if p.strip()]
