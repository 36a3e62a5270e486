"""The steps of ``benchmarks.gpu_check``: each takes the run's ``Context`` and returns its figures.

A step returns a dict of plain values (JSON), or raises ``Skipped`` with the reason; figures
that a later step needs (the dataset, the archives, the trained model) go on the context.
Frames/s are frames of (D,) float32 features; peak memory is ``torch.cuda.max_memory_allocated``
in MiB, reset at the start of each phase (gather, train, invert, decoded error); ``None`` on a
CPU.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._common import REPO
from .gpu_peaks import mib as _mib, phase_peaks

__all__ = ["Context", "Skipped", "STEPS"]

#: Breakfast (fitted.json's statistics of the real ground truth): videos and mean frames
BREAKFAST_VIDEOS, BREAKFAST_FRAMES_MEAN = 1712, 2097.49
#: the paper's recipe in full: TCA epochs and inversion iterations
PAPER_EPOCHS, PAPER_ITERS = 7500, 10000


class Skipped(Exception):
    """A step that does not apply here (its reason is recorded)."""


@dataclass
class Context:
    """What the steps share: the arguments, the device, a scratch folder, and what earlier
    steps made (``root`` the dataset, ``archives`` by name, ``cache`` the trained models)."""

    args: Any
    device: str
    work: Path
    root: Path | None = None
    frames: int = 0  # the dataset's frames
    archives: dict[str, Path] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    step_timeout: float = 60.0  # seconds the running step has (set by the runner)

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")


def environment(ctx: Context) -> dict[str, Any]:
    """Versions, the device, and (``--bundle``) whether the image meets the bundle's needs."""
    import torch

    from ._common import machine

    out: dict[str, Any] = {"machine": machine(), "torch": torch.__version__,
                           "cuda": torch.version.cuda, "device": ctx.device,
                           "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG")}
    if ctx.cuda:
        props = torch.cuda.get_device_properties(0)
        out["gpu"] = {"name": props.name, "memory_mib": _mib(props.total_memory),
                      "multiprocessors": props.multi_processor_count}
    versions = {name: _version(name) for name in ("numpy", "zarr", "numcodecs",
                                                  "google-crc32c", "donfig", "tqdm", "pytest",
                                                  "hypothesis")}
    out["packages"] = versions
    if ctx.args.bundle:
        from packaging.specifiers import SpecifierSet

        manifest = json.loads((Path(ctx.args.bundle) / "manifest.json").read_text())
        unmet = []
        for name, needs in manifest["image_requirements"].items():
            have = _version(name)
            for need in needs:
                spec = need.split(" (", 1)[0]
                if have is None or (spec != "any" and not SpecifierSet(spec).contains(have)):
                    unmet.append(f"{name} {have}: {need}")
        out["image_requirements_unmet"] = unmet
    return out


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def gpu_tests(ctx: Context) -> dict[str, Any]:
    """``pytest -m gpu`` in a child process with ``CUBLAS_WORKSPACE_CONFIG`` unset (what a
    plain ``pytest -m gpu`` sees: importing tascodec must set it first)."""
    if not ctx.cuda:
        raise Skipped("no CUDA device (the gpu tests skip themselves here)")
    env = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p",
                           "no:cacheprovider", "tests"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=max(ctx.step_timeout - 5, 1))
    tail = (proc.stdout + proc.stderr).strip().splitlines()
    if proc.returncode != 0:
        raise RuntimeError(f"gpu tests exit code {proc.returncode}: " + " | ".join(tail[-15:]))
    return {"exit_code": proc.returncode, "summary": tail[-1] if tail else ""}


def data(ctx: Context) -> dict[str, Any]:
    """A Breakfast-shaped synthetic subset (real transcripts and lengths)."""
    from tascodec.dataset.layout import StandardDataset
    from tascodec.synth import synthesize

    ctx.root = synthesize(ctx.work / "data", preset="breakfast", videos=ctx.args.videos,
                          dim=ctx.args.dim, seed=0, overwrite=True)
    ds = StandardDataset(ctx.root)
    ctx.frames = int(sum(ds.num_frames(v) for v in ds.videos))
    return {"videos": len(ds.videos), "frames": ctx.frames, "dim": ctx.args.dim,
            "bytes_float32": ctx.frames * ctx.args.dim * 4}


def _encode(ctx: Context, name: str, recipe: str, device: str, deterministic: bool,
            **extra: Any) -> dict[str, Any]:
    """Encode the subset; the archive's figures (train frames/s, inversion s/iteration and
    decoder evaluations/s, relative MSE) and the peak GPU memory per phase."""
    import tascodec

    if ctx.root is None:
        raise Skipped("no dataset (the data step failed)")
    path = ctx.work / f"{name}.tasz"
    cache: dict[str, Any] = {}
    start = time.perf_counter()
    with phase_peaks(device.startswith("cuda")) as peaks:
        tascodec.encode(ctx.root, path, codec="inversion", device=device, recipe=recipe,
                        overwrite=True, progress=False, cache=cache,
                        deterministic=deterministic, **extra)
    seconds = time.perf_counter() - start
    ctx.archives[name], ctx.cache[name] = path, cache
    with tascodec.open(path) as archive:
        stats = dict(archive.header["stats"])
    train, inv = stats.get("train", {}), stats.get("inversion", {})
    train_s, inv_s = float(train.get("wall_time_s", 0.0)), float(inv.get("wall_time_s", 0.0))
    iters = int(inv.get("iterations", 0))
    return {
        "recipe": stats.get("recipe"), "device": device, "deterministic": deterministic,
        "encode_s": round(seconds, 2), "train_s": round(train_s, 2),
        "train_frames_per_s": round(train.get("epochs", 0) * train.get("frames_per_epoch", 0)
                                    / max(train_s, 1e-9)),
        "train_epochs": train.get("epochs"), "train_in_memory": train.get("in_memory"),
        "invert_s": round(inv_s, 2), "invert_iterations": iters,
        "invert_s_per_iteration": inv_s / max(iters, 1),
        "decoder_evals_per_s": round(inv.get("decoder_evals", 0) / max(inv_s, 1e-9)),
        "invert_frames": inv.get("num_frames"), "invert_chunks": inv.get("chunks"),
        "split_frames": stats.get("split_frames"), "relative_mse": stats.get("relative_mse"),
        "peak_mib": peaks, "archive_bytes": path.stat().st_size}


def encode_default(ctx: Context) -> dict[str, Any]:
    """The device's own encode (``recipe="auto"``: ``gpu`` on CUDA), default (fast) mode."""
    return _encode(ctx, "default", ctx.args.recipe, ctx.device, False)


def encode_deterministic(ctx: Context) -> dict[str, Any]:
    """The same encode with ``deterministic=True``, twice: identical codes and decoder?"""
    out = _encode(ctx, "deterministic", ctx.args.recipe, ctx.device, True)
    again = _encode(ctx, "deterministic-again", ctx.args.recipe, ctx.device, True)
    out["repeat_identical"] = _same_archives(ctx.archives["deterministic"],
                                             ctx.archives["deterministic-again"])
    out["repeat_encode_s"] = again["encode_s"]
    if not out["repeat_identical"]:
        raise RuntimeError(f"deterministic repeat differs: {out}")
    return out


def _same_archives(p: Path, q: Path) -> bool:
    import tascodec

    with tascodec.open(p) as a, tascodec.open(q) as b:
        if list(a.videos) != list(b.videos):
            return False
        if not all(np.array_equal(a.codes(v), b.codes(v)) for v in a.videos):
            return False
        ta, tb = a.decoder().tensors, b.decoder().tensors
        return set(ta) == set(tb) and all(np.array_equal(ta[k], tb[k]) for k in ta)


def paper(ctx: Context) -> dict[str, Any]:
    """The ``paper`` recipe cut to ``--paper-epochs`` / ``--paper-iters``, and its time on all
    of Breakfast extrapolated from the measured rates (7.5K epochs over every training frame,
    10K iterations over every frame of every instance)."""
    out = _encode(ctx, "paper", "paper", ctx.device, False, epochs=ctx.args.paper_epochs,
                  invert_max_iters=ctx.args.paper_iters)
    subset_frames = max(int(out["split_frames"] or 0), 1)
    breakfast = BREAKFAST_VIDEOS * BREAKFAST_FRAMES_MEAN * subset_frames / max(
        ctx.frames, 1)  # Breakfast's frames in the split the subset encodes
    train_s = PAPER_EPOCHS * breakfast / max(out["train_frames_per_s"], 1e-9)
    invert_s = PAPER_ITERS * out["invert_s_per_iteration"] * breakfast / max(
        int(out["invert_frames"] or subset_frames), 1)
    out["breakfast_split_frames"] = round(breakfast)
    out["breakfast_extrapolated_h"] = {"train": round(train_s / 3600, 2),
                                      "invert": round(invert_s / 3600, 2),
                                      "total": round((train_s + invert_s) / 3600, 2)}
    return out


def cpu_compare(ctx: Context) -> dict[str, Any]:
    """A CPU encode of the same data (``--cpu-recipe``, ``auto``: ``cpu``, at most
    ``--cpu-epochs`` passes) beside the device's, and the device's trained model inverting
    ``--compare-videos`` videos on the device and on the CPU."""
    if not ctx.cuda:
        raise Skipped("the device is the CPU")
    if "default" not in ctx.archives:
        raise Skipped("no device encode to compare with")
    out = _encode(ctx, "cpu", ctx.args.cpu_recipe, "cpu", False, epochs=ctx.args.cpu_epochs)
    out["device_relative_mse"] = _stat(ctx.archives["default"], "relative_mse")
    out["codes_device_vs_cpu_max_rel"] = _codes_device_vs_cpu(ctx)
    return out


def _stat(path: Path, key: str) -> Any:
    import tascodec

    with tascodec.open(path) as archive:
        return archive.header["stats"].get(key)


def _codes_device_vs_cpu(ctx: Context) -> float:
    """Max relative difference of the codes one trained model inverts on the device and on
    the CPU (the archive's inversion settings, K = 8 per segment)."""
    from tascodec.codecs.inversion import invert_kwargs
    from tascodec.content import SegmentTable
    from tascodec.format import open_archive
    from tascodec.tca.invert import invert

    model = next(v[0] for k, v in ctx.cache["default"].items() if k.startswith("tca:"))
    with open_archive(ctx.archives["default"]) as archive:
        names = list(archive.videos)[:ctx.args.compare_videos]
        config = dict(archive.codec_config)
    source = _source(ctx, names)
    table = SegmentTable.from_labels(names, [source.labels(v) for v in names], 8)
    kwargs = {**invert_kwargs({k: v for k, v in config.items() if k.startswith("invert_")}),
              "progress": False, "init": config.get("init", "encoded")}
    on_dev, _ = invert(model, source, table, device=ctx.device, **kwargs)
    on_cpu, _ = invert(copy.deepcopy(model).cpu(), source, table, device="cpu", **kwargs)
    return float(np.abs(on_dev - on_cpu).max() / (np.abs(on_cpu).max() + 1e-12))


def _source(ctx: Context, names: list[str] | None = None) -> Any:
    from tascodec.dataset.layout import StandardDataset
    from tascodec.dataset.source import ArraySource

    ds = StandardDataset(ctx.root)
    names = list(ds.videos) if names is None else names
    return ArraySource({v: np.ascontiguousarray(ds.features(v).T) for v in names},
                       {v: ds.labels(v) for v in names}, list(ds.class_names))


def decode(ctx: Context) -> dict[str, Any]:
    """Decode frames/s: kept on the device (``decode_video_tensor``), through
    ``TaszDataset(device=...)`` (its cache off), against ``np.load`` of the original features;
    and the device's decode against NumPy's (max relative difference)."""
    import torch

    import tascodec
    from tascodec.decode import decode_video_tensor

    if "default" not in ctx.archives:
        raise Skipped("no archive (the default encode failed)")
    path, where = ctx.archives["default"], ctx.device if ctx.cuda else "cpu-torch"
    sync = torch.cuda.synchronize if ctx.cuda else (lambda: None)
    with tascodec.open(path) as archive:
        videos = list(archive.videos)
        frames = sum(archive.num_frames(v) for v in videos)
        decode_video_tensor(archive, videos[0], device=where)  # warm: the decoder's copy
        sync()
        start = time.perf_counter()
        kept = [decode_video_tensor(archive, v, device=where) for v in videos]
        sync()
        on_device = frames / (time.perf_counter() - start)
        diff = 0.0
        for t, v in zip(kept, videos):
            ref = archive.decode(v)
            diff = max(diff, float(np.abs(t.cpu().numpy() - ref).max() / (np.abs(ref).max() + 1e-12)))
        del kept
    ds = tascodec.TaszDataset(path, split=None, device=where, cache_bytes=0)
    start = time.perf_counter()
    for i in range(len(ds)):
        ds[i]
    sync()
    dataset_rate = frames / (time.perf_counter() - start)
    start = time.perf_counter()
    for v in videos:
        np.load(ctx.root / "features" / f"{v}.npy")
    npy_rate = frames / (time.perf_counter() - start)
    return {"videos": len(videos), "frames": int(frames),
            "on_device_frames_per_s": round(on_device),
            "taszdataset_frames_per_s": round(dataset_rate),
            "np_load_frames_per_s": round(npy_rate),
            "device_vs_numpy_max_rel": diff}


def mstcn(ctx: Context) -> dict[str, Any]:
    """MS-TCN trained on the archive decoded on the device (``decode="auto"``: the torch
    decoder, tensors kept there), ``deterministic=True`` twice: identical scores?"""
    from tascodec.harness.evaluate import evaluate_archive

    if "default" not in ctx.archives:
        raise Skipped("no archive (the default encode failed)")
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        r = evaluate_archive(ctx.archives["default"], ctx.root, split="split1", seeds=(0,),
                             epochs=ctx.args.eval_epochs, device=ctx.device, progress=False,
                             decode="auto" if ctx.cuda else "torch", deterministic=True)
        runs.append((r, time.perf_counter() - start))
    (a, sa), (b, _) = runs
    out = {"device": a.device, "epochs": ctx.args.eval_epochs, "seconds": round(sa, 2),
           "acc": a.mean["acc"], "f1@50": a.mean["f1@50"],
           "repeat_identical": a.per_seed == b.per_seed}
    if not out["repeat_identical"]:
        raise RuntimeError(f"MS-TCN deterministic repeat differs: {a.per_seed} vs {b.per_seed}")
    return out


def memory_budget(ctx: Context) -> dict[str, Any]:
    """The sampled path: TCA training with a ``memory_budget`` of a quarter of the subset's
    training frames (on the device); what ``fitting_budget`` (the ``paper`` recipe) allows here
    and whether all of Breakfast fits it; the decode cache's device limit."""
    import torch

    import tascodec.tca.train as train_mod
    from tascodec.harness.items import cache_limit
    from tascodec.tca.frames import fitting_budget

    if ctx.root is None:
        raise Skipped("no dataset")
    source = _source(ctx)
    frames = sum(source.features(v).shape[0] for v in source.videos)
    budget = frames * ctx.args.dim * 4 // 4
    with phase_peaks(ctx.cuda) as peaks:
        _, report = train_mod.train_tca(source, device=ctx.device, epochs=2, progress=False,
                                        memory_budget=budget)
    fit = fitting_budget(ctx.device)
    breakfast_bytes = int(BREAKFAST_VIDEOS * BREAKFAST_FRAMES_MEAN) * 2048 * 4
    if report.in_memory:
        raise RuntimeError(f"memory_budget={budget} did not sample: {report.as_dict()}")
    return {"budget_bytes": budget, "in_memory": report.in_memory,
            "frames": report.frames, "frames_per_epoch": report.frames_per_epoch,
            "train_frames_per_s": round(report.epochs * report.frames_per_epoch
                                        / max(report.wall_time_s, 1e-9)),
            "peak_mib": peaks, "fitting_budget_mib": _mib(fit),
            "breakfast_fits_paper_recipe": breakfast_bytes <= fit,
            "decode_cache_limit_mib": _mib(cache_limit(torch.device(ctx.device)))}


#: (name, function, timeout in seconds on a GPU): at most 8 minutes in all
STEPS = [("environment", environment, 15), ("gpu_tests", gpu_tests, 150), ("data", data, 15),
         ("encode_default", encode_default, 40), ("encode_deterministic", encode_deterministic, 60),
         ("paper", paper, 45), ("cpu_compare", cpu_compare, 65), ("decode", decode, 25),
         ("mstcn", mstcn, 40), ("memory_budget", memory_budget, 25)]
