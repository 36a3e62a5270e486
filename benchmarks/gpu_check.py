"""One command for a machine with CUDA: what a lease is for, measured step by step, written as it goes.

    python -m benchmarks.gpu_check --out DIR [--device auto|cuda|cpu] [--bundle DIR]
                                   [--steps a,b] [--videos 24] [--dim 2048] ...

Runs from the repository root with the torch already installed there (``tascodec`` is imported
from the working tree; on the GPU machines the missing packages come from a device bundle:
``python -m benchmarks.gpu_bundle``, whose ``COMMAND.txt`` is the line to run there). Sized for
at most 8 minutes on one H100 by estimate, not by a timed run: every step has its own timeout
(``gpu_steps.STEPS``, 480 s in all) and a step that fails or times out is recorded and the
next one runs. After EVERY step ``DIR/gpu_check.json`` and ``DIR/gpu_check.md`` are rewritten,
so a run cut short still brings back what it measured.

The steps (``benchmarks/gpu_steps.py``):

1. ``environment``: versions, the GPU, and whether the image meets the bundle's requirements;
2. ``gpu_tests``: ``pytest -m gpu`` with ``CUBLAS_WORKSPACE_CONFIG`` unset;
3. ``data``: a Breakfast-shaped synthetic subset (``--videos``, D = ``--dim``);
4. ``encode_default``: the device's encode (``--recipe``, default mode): train frames/s,
   inversion seconds per iteration and decoder evaluations/s, relative MSE, peak GPU memory
   per phase (gather, train, invert, decoded error);
5. ``encode_deterministic``: the same with ``deterministic=True``, twice (identical?);
6. ``paper``: the ``paper`` recipe cut to ``--paper-epochs`` / ``--paper-iters``, and its time
   on all of Breakfast extrapolated (7.5K epochs, 10K iterations);
7. ``cpu_compare``: a CPU encode of the same data (``--cpu-recipe``, at most ``--cpu-epochs``)
   beside the device's (relative MSE), and one model's codes inverted on the device and on
   the CPU;
8. ``decode``: frames/s decoded and kept on the device, through ``TaszDataset(device=...)``,
   and ``np.load`` of the original features; the device's decode against NumPy's;
9. ``mstcn``: MS-TCN on the archive decoded on the device, deterministic, twice (identical?);
10. ``memory_budget``: TCA training on the sampled path (a budget of a quarter of the frames),
    the ``paper`` recipe's fitting budget here (does all of Breakfast fit?), the decode cache's
    device limit.

Exit status 1 when a step failed or timed out (a repeat that differed is a failure).

Without CUDA (or with ``--device cpu``) it runs end to end on the CPU on tiny data (4 videos,
D = 32, the ``quick`` recipe) in well under a minute, with the torch decoder on the CPU
(``"cpu-torch"``) where the GPU's would be; steps that need a GPU say why they were skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Iterator

from ._common import markdown_table, write_results
from .gpu_steps import STEPS, Context, Skipped

#: argument defaults on a GPU and on the CPU (tiny: the CPU run is a test of the script)
DEFAULTS = {
    "cuda": {"videos": 24, "dim": 2048, "recipe": "auto", "cpu_recipe": "auto", "cpu_epochs": 8,
             "paper_epochs": 20, "paper_iters": 200, "compare_videos": 3, "eval_epochs": 5,
             "timeout_scale": 1.0},
    "cpu": {"videos": 4, "dim": 32, "recipe": "quick", "cpu_recipe": "quick", "cpu_epochs": 3,
            "paper_epochs": 1, "paper_iters": 5, "compare_videos": 2, "eval_epochs": 1,
            "timeout_scale": 6.0},
}


class StepTimeout(Exception):
    """A step ran past its timeout."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder of gpu_check.json / .md")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cuda, cpu")
    p.add_argument("--bundle", default=None, help="the device bundle (its manifest is checked)")
    p.add_argument("--steps", default=None, help="comma-separated step names (default: all)")
    for name, kind in (("videos", int), ("dim", int), ("recipe", str), ("cpu_recipe", str),
                       ("cpu_epochs", int),
                       ("paper_epochs", int), ("paper_iters", int), ("compare_videos", int),
                       ("eval_epochs", int), ("timeout_scale", float)):
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                       help="default: GPU %s, CPU %s" % (DEFAULTS["cuda"][name],
                                                         DEFAULTS["cpu"][name]))
    return p.parse_args(argv)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """``StepTimeout`` in the main thread after ``seconds`` (SIGALRM; no limit elsewhere)."""
    usable = hasattr(signal, "setitimer") and signal.getsignal(signal.SIGALRM) in (
        signal.SIG_DFL, None)
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise StepTimeout(f"over its {seconds:g} s timeout")

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def _figures(result: dict[str, Any]) -> str:
    """A step's figures in one Markdown cell (nested dicts as ``key: a=1, b=2``)."""
    parts = []
    for key, value in result.items():
        if key == "machine":
            continue
        if isinstance(value, dict):
            value = "{" + ", ".join(f"{k}={_short(v)}" for k, v in value.items()) + "}"
        parts.append(f"{key}={_short(value)}")
    return "; ".join(parts).replace("|", "/")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def markdown(payload: dict[str, Any]) -> str:
    """The run as Markdown: a line on the machine, then a row per step."""
    env = next((s["results"] for s in payload["steps"] if s["name"] == "environment"
                and s["status"] == "ok"), {})
    head = (f"gpu_check on {payload['device']}: torch {env.get('torch', '?')}, CUDA "
            f"{env.get('cuda', '?')}, GPU {env.get('gpu', {}).get('name', 'none')}; "
            f"{'finished' if payload['finished'] else 'RUNNING or cut short'}, "
            f"{payload['seconds']:.0f} s")
    rows = [[s["name"], s["status"], f"{s['seconds']:.1f}", s.get("error") or
             _figures(s.get("results") or {})] for s in payload["steps"]]
    return head + "\n\n" + markdown_table(["step", "status", "s", "figures"], rows)


def run(args: argparse.Namespace, device: str, work: Path) -> dict[str, Any]:
    """Run the selected steps, rewriting the JSON and Markdown after each; the payload."""
    chosen = None if args.steps is None else set(args.steps.split(","))
    unknown = (chosen or set()) - {name for name, _, _ in STEPS}
    if unknown:
        raise SystemExit(f"--steps: unknown {sorted(unknown)}; known: {[n for n, _, _ in STEPS]}")
    ctx = Context(args=args, device=device, work=work)
    payload: dict[str, Any] = {"device": device, "args": {k: str(v) for k, v in
                                                         vars(args).items()},
                               "budget_s": sum(t for _, _, t in STEPS), "steps": [],
                               "finished": False, "seconds": 0.0}
    start = time.perf_counter()
    for name, step, timeout in STEPS:
        if chosen is not None and name not in chosen:
            continue
        ctx.step_timeout = timeout * args.timeout_scale
        entry: dict[str, Any] = {"name": name, "timeout_s": ctx.step_timeout}
        t0 = time.perf_counter()
        try:
            with time_limit(ctx.step_timeout):
                entry["results"] = step(ctx)
            entry["status"] = "ok"
        except Skipped as why:
            entry["status"], entry["error"] = "skipped", f"skipped: {why}"
        except StepTimeout as exc:
            entry["status"], entry["error"] = "timeout", str(exc)
        except Exception as exc:  # one failing step must not hide what the others show
            traceback.print_exc()
            entry["status"] = "failed"
            entry["error"] = f"{type(exc).__name__}: {str(exc)[:1500]}"
        entry["seconds"] = time.perf_counter() - t0
        payload["steps"].append(entry)
        payload["seconds"] = time.perf_counter() - start
        print(f"{name}: {entry['status']} ({entry['seconds']:.1f} s)"
              + (f": {entry['error']}" if entry.get("error") else ""), flush=True)
        write_results(args.out, "gpu_check", payload, markdown(payload))
    payload["finished"] = True
    write_results(args.out, "gpu_check", payload, markdown(payload))
    return payload


def main(argv: list[str] | None = None) -> int:
    import tascodec  # noqa: F401 - sets CUBLAS_WORKSPACE_CONFIG before any CUDA work
    import torch

    args = parse_args(argv)
    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = ("cuda" if args.device == "auto" else args.device) if cuda else "cpu"
    for name, value in DEFAULTS["cuda" if cuda else "cpu"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    print(f"gpu_check: device {device}; at most {sum(t for _, _, t in STEPS) * args.timeout_scale:.0f}"
          f" s by the steps' timeouts; results in {args.out}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tascodec-gpu-check-") as tmp:
        payload = run(args, device, Path(tmp))
    print(markdown(payload))
    bad = [s["name"] for s in payload["steps"] if s["status"] in ("failed", "timeout")]
    if bad:
        print(f"{len(bad)} step(s) failed or timed out: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
