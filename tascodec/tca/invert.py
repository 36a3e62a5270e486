"""Network inversion: latent codes whose decoded frames match the real ones, batched and cheap.

Shapes: N instances (codes), n frames of a chunk, D feature width, d latent width, H hidden
width, A classes.

Every instance is an independent d-dimensional least-squares problem through the frozen
decoder ``x_hat = W2 relu(W_z z + W_a[:, a] + w_c c + b1) + b2`` (de-normalised with the
checkpoint's scale and offset). The objective is the L2 error in original feature units
(``space="original"``, the default here: large channels dominate) or in the normalised feature
space (``space="normalized"``, what the ``cpu`` recipe uses: every channel's error relative to
its own spread, the space the TCA was trained in, so raw channels whose units differ by orders
of magnitude all count). What makes it cheap:

* the first layer splits into a per-instance part ``W_z z + W_a[:, a] + b1`` (H) and a per-frame
  ``w_c c`` (H): no ``(d + A + 1) x H`` product per frame;
* with the linear last layer ``||S (W2 h + b2) + o - x||^2 = h^T G h - 2 h^T t + ||r||^2`` with
  ``G = W2s^T W2s`` (H x H, ``W2s = diag(S) W2``), ``r = x - o - S b2`` and ``t = W2s^T r`` (H
  per frame), so a forward and backward pass costs one ``n x H x H`` product instead of
  ``n x D x H`` ones (4x fewer at D = 2048, H = 512; ``objective="auto"`` picks the direct form
  when D <= H), and a chunk holds ``n x H`` targets instead of ``n x D``;
* the gradient is written out (no autograd graph), Adam is per coordinate, and every instance
  keeps its own step size and stopping state, so instances never influence each other: a subset
  inverts to the same codes as the whole (bit for bit on the CPU; on CUDA to float32 rounding,
  as cuBLAS may pick another kernel for another number of rows);
* per-instance sums are ordered segment sums (``tascodec.runtime.determinism.segment_sum``), not
  atomic ``index_add_``: the same model, frames and settings give the same codes run after run
  on CUDA too, with or without ``deterministic=True``;
* warm start from the encoder's mean code (``init="encoded"``), per-instance plateau detection
  (relative improvement below ``tol`` over ``check_every`` iterations: the step size is cut,
  and after ``lr_decays`` cuts the instance stops), and optional frame subsampling inside long
  instances (``max_frames_per_instance``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..content import SegmentTable
from ..runtime.determinism import deterministic_algorithms, segment_sum
from ..runtime.devices import resolve_device
from ..errors import TascodecError
from ..rng import random_codes
from ..dataset.source import FrameSource
from .encoder import encoded_codes
from .model import TCA, TCADecoder
from .instance_plan import (SAMPLED_CHUNK_SPREAD, InversionPlan, chunks as _chunks,
                            on_device, require_encoder, subsample as _subsample)

__all__ = ["InversionReport", "invert"]


@dataclass
class InversionReport:
    """Figures of one inversion. MSEs are means over frames and dims, in the objective's ``space``."""

    mse: float
    init_mse: float
    iterations: int  # most iterations any instance ran
    mean_iterations: float
    decoder_evals: int  # frame-forwards, init and final evaluation passes included
    wall_time_s: float
    num_codes: int
    num_frames: int
    chunks: int
    stopped_by_tol: int  # instances that stopped before max_iters
    encoder_evals: int = 0  # frames through the encoder (init="encoded": one pass)
    history: list[tuple[int, int, float]] = field(default_factory=list)  # (iter, evals, mse)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "mse", "init_mse", "iterations", "mean_iterations", "decoder_evals", "wall_time_s",
            "num_codes", "num_frames", "chunks", "stopped_by_tol", "encoder_evals")}


SPACES = ("normalized", "original")


class _Objective:
    """Per-frame squared error (in ``space``) and its gradient w.r.t. the hidden layer."""

    def __init__(self, dec: TCADecoder, frames: Any, n: int, form: str, block: int = 4096,
                 space: str = "original") -> None:
        """``frames(a, b)`` gives real frames ``[a, b)`` of the chunk as a (b - a, D) tensor."""
        if space == "normalized":
            w2s, shift = dec.fc2.weight, dec.fc2.bias  # (D, H), (D,)
            read = frames
            frames = lambda a, b: dec.normalize(read(a, b))  # noqa: E731
        else:
            w2s = dec.fc2.weight * dec.feature_scale[:, None]  # (D, H)
            shift = dec.feature_offset + dec.feature_scale * dec.fc2.bias  # (D,)
        self.form, self.w2s = form, w2s
        if form == "gram":
            self.g = w2s.T @ w2s  # (H, H)
        consts, parts = [], []
        for a in range(0, n, block):  # blocks bound the (block, D) temporaries
            r = frames(a, min(n, a + block)) - shift
            consts.append(r.double().pow(2).sum(1))
            parts.append(r @ w2s if form == "gram" else r)
        self.const = torch.cat(consts) if consts else torch.zeros(0, dtype=torch.float64)
        target = torch.cat(parts) if parts else None
        if form == "gram":
            self.t = target  # (n, H)
        else:
            self.r = target  # (n, D)

    def __call__(self, h: torch.Tensor, idx: torch.Tensor | None, grad: bool
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Errors (m,) float64 and d err / d h (m, H) for frames ``idx`` (None: all)."""
        if self.form == "gram":
            t = self.t if idx is None else self.t[idx]
            y = h @ self.g
            err = (h * (y - 2 * t)).sum(1).double() + (self.const if idx is None else self.const[idx])
            return err, (2 * (y - t) if grad else None)
        r = self.r if idx is None else self.r[idx]
        diff = h @ self.w2s.T - r
        return diff.pow(2).sum(1).double(), (2 * diff @ self.w2s if grad else None)


def _loss_grad(obj: _Objective, pre: torch.Tensor, fidx: torch.Tensor, local: torch.Tensor,
               weight: torch.Tensor, wz: torch.Tensor, rows: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame errors (m,) and the gradient (rows, d) of ``sum_f weight_f * err_f``.

    ``pre`` (m, H): first-layer pre-activations of the frames ``fidx``; ``local`` (m,): their
    code row; ``wz`` (H, d): the code block of the first layer.
    """
    h = torch.relu(pre)
    err, g_h = obj(h, fidx, True)
    g_pre = g_h.mul_(weight.to(g_h.dtype)[:, None]).masked_fill_(pre <= 0, 0.0)
    # ``local`` is non-decreasing (frames grouped by instance): an ordered sum, no atomics.
    return err, segment_sum(g_pre, local, rows) @ wz


def _chunk_reader(plan: InversionPlan, source: FrameSource, f0: int, dev: torch.device) -> Any:
    """``read(a, b)``: real frames ``[f0 + a, f0 + b)`` as a tensor on ``dev``. To CUDA through
    pinned memory without blocking, so the host reads the next block while this one copies
    (torch's pinned allocator keeps the buffer until the copy is done)."""
    def read(a: int, b: int) -> torch.Tensor:
        host = torch.from_numpy(plan.frames(source, f0 + a, f0 + b))
        if dev.type == "cuda":
            return host.pin_memory().to(dev, non_blocking=True)
        return host.to(dev)
    return read


@dataclass
class _Settings:
    max_iters: int
    tol: float  # 0: no plateau stopping
    lr: float
    betas: tuple[float, float]
    check_every: int
    lr_decays: int


class _Chunk:
    """The instances ``[i0, i1)`` (frames ``[f0, f1)``) of a plan, solved together."""

    def __init__(self, dec: TCADecoder, obj: _Objective, plan: InversionPlan, i0: int, i1: int,
                 f0: int, f1: int, sample: np.ndarray, dev: torch.device) -> None:
        d = dec.latent_dim
        w1 = dec.fc1.weight
        self.obj, self.dev, self.n_inst, self.n_frames = obj, dev, i1 - i0, f1 - f0
        self.wz, self.wc = w1[:, :d], w1[:, -1]
        actions = torch.from_numpy(plan.inst_action[i0:i1]).to(dev)
        self.base = w1[:, d:d + dec.num_classes][:, actions].T + dec.fc1.bias  # (n_inst, H)
        self.f_inst = torch.from_numpy(plan.frame_inst[f0:f1] - i0).to(dev)
        self.f_c = torch.from_numpy(plan.frame_c[f0:f1]).to(dev)[:, None]
        counts = np.bincount(plan.frame_inst[f0:f1][sample] - i0, minlength=self.n_inst)
        self.m_k = torch.from_numpy(counts).to(dev, torch.float64)  # sampled frames per instance
        self.sample = torch.from_numpy(sample).to(dev)

    def hidden(self, z: torch.Tensor, rows: torch.Tensor, local: torch.Tensor,
               fc: torch.Tensor) -> torch.Tensor:
        """Pre-activations (m, H): codes ``z`` of instances ``rows``, frames' rows ``local``."""
        return (z @ self.wz.T + self.base[rows])[local] + fc * self.wc

    def full_err(self, z: torch.Tensor) -> float:
        """Summed squared error of every frame of the chunk (original units)."""
        rows = torch.arange(self.n_inst, device=self.dev)
        err, _ = self.obj(torch.relu(self.hidden(z, rows, self.f_inst, self.f_c)), None, False)
        return float(err.sum())

    def solve(self, z: torch.Tensor, cfg: _Settings, hist: dict[int, list[float]], bar: Any
              ) -> tuple[torch.Tensor, torch.Tensor, int, float, float]:
        """Per-instance Adam from ``z``; returns (codes, iterations, evals, err0, err)."""
        dev, n_inst = self.dev, self.n_inst
        err0, evals = self.full_err(z), self.n_frames
        m_state, v_state = torch.zeros_like(z), torch.zeros_like(z)
        step_lr = torch.full((n_inst,), cfg.lr, device=dev)
        decays = torch.zeros(n_inst, dtype=torch.int64, device=dev)
        prev = torch.full((n_inst,), float("inf"), dtype=torch.float64, device=dev)
        active = torch.arange(n_inst, device=dev)
        work = (self.sample, self.f_inst[self.sample], self.f_c[self.sample])
        remap = torch.empty(n_inst, dtype=torch.int64, device=dev)
        it_count = torch.zeros(n_inst, dtype=torch.int64, device=dev)
        b1, b2 = cfg.betas
        last_it = 0
        for it in range(1, cfg.max_iters + 1):
            fidx, finst, fc = work
            remap[active] = torch.arange(active.numel(), device=dev)
            local = remap[finst]
            weight = 1.0 / self.m_k[finst]  # each instance minimises its mean frame error
            pre = self.hidden(z[active], active, local, fc)
            err, grad = _loss_grad(self.obj, pre, fidx, local, weight, self.wz, active.numel())
            evals += int(fidx.numel())
            freeze = None  # instances stopping now; decided only on check iterations
            if cfg.tol > 0 and it % cfg.check_every == 0:
                loss = segment_sum(err * weight, local, active.numel())
                p = prev[active]
                plateau = (p - loss) < cfg.tol * p.abs()
                prev[active] = loss
                dk = decays[active]
                freeze = plateau & (dk >= cfg.lr_decays)
                cut = plateau & (dk < cfg.lr_decays)  # masks, not indices: no host sync
                lr_a = step_lr[active]
                step_lr[active] = torch.where(cut, lr_a * 0.3, lr_a)
                decays[active] = dk + cut.to(dk.dtype)
            # Adam, one row per instance (bias correction: all active rows share the step).
            za, ma, va = z[active], m_state[active], v_state[active]
            ma = b1 * ma + (1 - b1) * grad
            va = b2 * va + (1 - b2) * grad * grad
            upd = (ma / (1 - b1**it)) / ((va / (1 - b2**it)).sqrt() + 1e-8)
            if freeze is None:
                za = za - step_lr[active][:, None] * upd
            else:
                keep = ~freeze
                za = torch.where(keep[:, None], za - step_lr[active][:, None] * upd, za)
            z[active], m_state[active], v_state[active] = za, ma, va
            it_count[active] = it
            last_it = it
            if it in hist:  # after this iteration's update
                hist[it][0] += evals
                hist[it][1] += self.full_err(z)
            # Host syncs only every check_every iterations: one (how many stop), and two more
            # (the rows kept, as indices) when some do.
            frozen = 0 if freeze is None else int(freeze.sum())
            if frozen:
                bar.update(frozen)
                active = active[keep.nonzero().squeeze(1)]
                if active.numel() == 0:
                    break
                alive = torch.zeros(n_inst, dtype=torch.bool, device=dev)
                alive[active] = True
                sel = alive[work[1]].nonzero().squeeze(1)
                work = (work[0][sel], work[1][sel], work[2][sel])
        err = self.full_err(z)
        for it, acc in hist.items():  # checkpoints after this chunk stopped: its final state
            if it > last_it:
                acc[0] += evals
                acc[1] += err
        bar.update(int(active.numel()))
        return z, it_count, evals + self.n_frames, err0, err


def invert(model: TCA | TCADecoder, source: FrameSource, table: SegmentTable, *,
           init: str | np.ndarray = "encoded", max_iters: int = 300, tol: float | None = 1e-3,
           lr: float = 0.05, optimizer: str = "adam", betas: tuple[float, float] = (0.9, 0.999),
           check_every: int = 10, lr_decays: int = 2, max_frames_per_instance: int | None = None,
           chunk_frames: int = 8192, objective: str = "auto", space: str = "original",
           device: str | None = None, seed: int = 0, progress: bool = True,
           history_at: tuple[int, ...] = (), deterministic: bool = False,
           chunk_by: str = "auto") -> tuple[np.ndarray, InversionReport]:
    """Optimise one code per instance of ``table``; returns codes (N, d) float32 and a report.

    ``init``: ``"encoded"`` (encoder mean, needs a ``TCA``), ``"random"`` (N(0, I) from
    ``tascodec.rng.random_codes(seed, ...)``) or an (N, d) array. ``tol=None`` (or 0) runs every
    instance for ``max_iters``. ``history_at``: iterations at which to record the MSE of all
    frames (measurement only, not counted as decoder evaluations).

    ``chunk_by``: what ``chunk_frames`` counts: ``"all"`` frames of a chunk's instances (the
    CPU's choice: the (frames, H) temporaries of an iteration stay under glibc's mmap
    threshold), ``"sampled"`` the frames an iteration computes (at most
    ``max_frames_per_instance`` of each; all frames capped at ``SAMPLED_CHUNK_SPREAD`` times
    ``chunk_frames``), so a GPU iteration launches the same kernels for many more instances;
    ``"auto"``: ``"sampled"`` on CUDA, else ``"all"``. Codes do not depend on it beyond float
    rounding (instances are independent).

    Determinism: on the CPU a call gives the same codes every time. On CUDA the codes of a
    given model are run-to-run identical too (ordered segment sums, no atomics), and equal the
    CPU's to float32 rounding (not bit for bit: other kernels, other rounding).
    ``deterministic=True`` runs the call inside ``tascodec.runtime.determinism.deterministic_algorithms``
    (deterministic kernels only, TF32 off; the caller's settings restored after), which also
    covers the ``init="encoded"`` encoder pass; it does not change results on the CPU.
    """
    with deterministic_algorithms(deterministic):
        return _invert(model, source, table, init=init, max_iters=max_iters, tol=tol, lr=lr,
                       optimizer=optimizer, betas=betas, check_every=check_every,
                       lr_decays=lr_decays, max_frames_per_instance=max_frames_per_instance,
                       chunk_frames=chunk_frames, objective=objective, space=space,
                       device=device, seed=seed, progress=progress, history_at=history_at,
                       chunk_by=chunk_by)


def _invert(model: TCA | TCADecoder, source: FrameSource, table: SegmentTable, *,
            init: str | np.ndarray, max_iters: int, tol: float | None, lr: float,
            optimizer: str, betas: tuple[float, float], check_every: int, lr_decays: int,
            max_frames_per_instance: int | None, chunk_frames: int, objective: str,
            space: str, device: str | None, seed: int, progress: bool,
            history_at: tuple[int, ...], chunk_by: str = "auto"
            ) -> tuple[np.ndarray, InversionReport]:
    """``invert`` under the caller's determinism settings."""
    start_time = time.perf_counter()
    dec: TCADecoder = model.decoder if isinstance(model, TCA) else model
    if not isinstance(dec, TCADecoder):
        raise TascodecError(f"invert: model must be a TCA or TCADecoder, got {type(model).__name__}")
    if optimizer != "adam":
        raise TascodecError(f"invert: unknown optimizer {optimizer!r}; known: ['adam']")
    if space not in SPACES:
        raise TascodecError(f"invert: space must be one of {SPACES}, got {space!r}")
    if chunk_by not in ("auto", "all", "sampled"):
        raise TascodecError(f"invert: chunk_by must be 'auto', 'all' or 'sampled', got {chunk_by!r}")
    if objective not in ("auto", "gram", "direct"):
        raise TascodecError(f"invert: objective must be 'auto', 'gram' or 'direct', got {objective!r}")
    for name, value in (("max_iters", max_iters), ("check_every", check_every),
                        ("chunk_frames", chunk_frames)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TascodecError(f"invert: {name} must be a positive integer, got {value!r}")
    if max_frames_per_instance is not None and max_frames_per_instance < 1:
        raise TascodecError(f"invert: max_frames_per_instance must be >= 1 or None, "
                            f"got {max_frames_per_instance}")
    if not lr > 0 or lr_decays < 0 or (tol is not None and tol < 0):
        raise TascodecError(f"invert: need lr > 0, lr_decays >= 0, tol >= 0; got {lr}, "
                            f"{lr_decays}, {tol}")
    plan = InversionPlan.build(source, table)
    n_codes, d = plan.inst_length.size, dec.latent_dim
    if int(source.feature_dim) != dec.feature_dim:
        raise TascodecError(f"invert: source feature_dim {source.feature_dim} != model "
                            f"feature_dim {dec.feature_dim}")
    if isinstance(init, np.ndarray):
        if init.shape != (n_codes, d) or not np.isfinite(init).all():
            raise TascodecError(f"invert: init array must be finite ({n_codes}, {d}), got "
                                f"shape {init.shape}")
        codes0 = init.astype(np.float32)
    elif init == "encoded":
        codes0 = encoded_codes(require_encoder(model), source, table, device=device, plan=plan)
    elif init == "random":
        codes0 = random_codes(seed, 0, n_codes, d).astype(np.float32)
    else:
        raise TascodecError(f"invert: unknown init {init!r}; known: 'encoded', 'random', array")
    dev = resolve_device(device) if device else dec.fc1.weight.device
    dec = on_device(dec, dev)
    form = objective if objective != "auto" else ("gram" if dec.feature_dim > dec.hidden_dim
                                                  else "direct")
    codes = np.empty((n_codes, d), dtype=np.float32)
    inst_first = np.concatenate(([0], np.cumsum(plan.inst_length)))
    if chunk_by == "auto":
        chunk_by = "sampled" if dev.type == "cuda" else "all"
    chunks = (_chunks(plan.inst_length, chunk_frames) if chunk_by == "all" else
              _chunks(plan.inst_length, chunk_frames, max_frames_per_instance,
                      chunk_frames * SAMPLED_CHUNK_SPREAD))
    evals, iters = 0, np.zeros(n_codes, dtype=np.int64)
    err0_sum = err_sum = 0.0
    hist: dict[int, list[float]] = {i: [0.0, 0.0] for i in history_at}
    bar = tqdm(total=n_codes, desc="invert", unit="code", disable=not progress)
    settings = _Settings(max_iters, tol if tol else 0.0, float(lr), betas, check_every,
                         lr_decays)
    with torch.no_grad(), bar:  # closed however the loop ends (Ctrl-C included)
        for i0, i1 in chunks:
            f0, f1 = int(inst_first[i0]), int(inst_first[i1])
            obj = _Objective(dec, _chunk_reader(plan, source, f0, dev), f1 - f0, form,
                             space=space)
            sample = _subsample(plan.inst_length[i0:i1], inst_first[i0:i1] - f0,
                                max_frames_per_instance)
            prob = _Chunk(dec, obj, plan, i0, i1, f0, f1, sample, dev)
            z, it_count, ev, e0, e1 = prob.solve(torch.from_numpy(codes0[i0:i1]).to(dev),
                                                  settings, hist, bar)
            evals, err0_sum, err_sum = evals + ev, err0_sum + e0, err_sum + e1
            codes[i0:i1] = z.cpu().numpy()
            iters[i0:i1] = it_count.cpu().numpy()
    total_frames = int(plan.video_first_frame[-1])
    denom = max(total_frames, 1) * dec.feature_dim
    # History: evaluations and error sums of finished chunks are carried into later checkpoints.
    history = [(it, int(v[0]), v[1] / denom) for it, v in sorted(hist.items())]
    report = InversionReport(
        mse=err_sum / denom, init_mse=err0_sum / denom, iterations=int(iters.max(initial=0)),
        mean_iterations=float(iters.mean()) if n_codes else 0.0, decoder_evals=int(evals),
        wall_time_s=time.perf_counter() - start_time, num_codes=n_codes,
        num_frames=total_frames, chunks=len(chunks),
        stopped_by_tol=int((iters < max_iters).sum()),
        encoder_evals=total_frames if isinstance(init, str) and init == "encoded" else 0,
        history=history)
    return codes, report
