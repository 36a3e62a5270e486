"""Decoding with torch on a device (``"cuda"``, ``"cuda:1"``, ``"cpu-torch"`` = torch on the CPU).

Same rules (``decode.plan``) and results as ``decode.numpy`` (within float32 rounding). Shapes: N codes
(instances), T frames, H decoder hidden width, D feature width.

The algorithm is the structured one, fully vectorised (no Python loop over instances): the
first layer runs once per instance (``base``, (N, H)); ``P``/``Q`` of every instance come from
one GEMM of 2N rows using the ReLU pattern at the instance's first frame; frames are
``P + c Q``; hidden units whose sign changes later inside their instance are corrected with one
(T, J) x (J, D) product over just those J units (J is small: a unit flips at most once per
instance). Interpolated codes (``content.MLP_LERP``) run the hidden layer per frame on the
interpolated pre-activation ``base_l + w (base_r - base_l) + c w_c`` and one (T, H) x (H, D)
product. Matmuls run in full float32: ``decode`` does not change torch's global precision
settings, so enabling TF32 globally makes decoding less exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extras import require_torch

require_torch("decoding on a torch device (cuda, cpu-torch)")  # one line naming the extra
import torch  # noqa: E402

from ..content import KINDS, DecoderCheckpoint
from ..runtime.devices import resolve_device
from ..segments import instance_lengths, lerp_weights
from ..tca_mlp import PreparedDecoder
from .budget import DecodePlan, group_slices
from .plan import check_codes, check_offsets, check_table, instances
from .view import VideoView, video_view

__all__ = ["decode_segments_torch", "decode_video_torch"]


def _device_tensors(prep: PreparedDecoder, dev: torch.device) -> dict[str, torch.Tensor]:
    """The folded decoder's tensors on ``dev``, copied once and held by the decoder."""
    key = str(dev)
    if key not in prep.on_device:
        prep.on_device[key] = {k: torch.as_tensor(np.array(getattr(prep, k)), device=dev)
                               for k in ("wz_t", "wa_t", "w_c", "w2_t", "b2")}
    return prep.on_device[key]


def _upload(dev: torch.device, *arrays: np.ndarray) -> list[torch.Tensor]:
    """``arrays`` (one dtype, any shapes) on ``dev`` through ONE host-to-device copy: the
    copies block the host (pageable memory), so one per decode instead of one per array.
    On the CPU the tensors share one new host buffer."""
    flat = np.concatenate([a.reshape(-1) for a in arrays])
    whole = torch.from_numpy(flat).to(dev)
    parts = torch.split(whole, [a.size for a in arrays])
    return [t.view(a.shape) for t, a in zip(parts, arrays)]


def decode_segments_torch(
    kind: str,
    codes: np.ndarray | torch.Tensor,
    seg_action: np.ndarray,
    seg_length: np.ndarray,
    seg_num_instances: np.ndarray,
    decoder: DecoderCheckpoint | PreparedDecoder | None,
    *,
    device: Any = None,
    offsets: np.ndarray | None = None,
) -> torch.Tensor:
    """Decode one video's codes (N, code_dim) into frames: a (T, D) float32 tensor on ``device``;
    ``offsets`` (S, D): the segments' offsets (``content.MLP_OFFSET`` only).

    Host to device: two copies (the float32 inputs together, the int64 indices together) and
    one sync (the hidden units that flip inside an instance)."""
    dev = resolve_device(device)
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().numpy()
    codes, action, length, k_eff = check_table(kind, codes, seg_action, seg_length,
                                               seg_num_instances)
    spec = KINDS[kind]  # check_table knows the kind
    inst_len = instance_lengths(length, k_eff)
    if not spec.uses_decoder:
        z, reps = torch.from_numpy(codes).to(dev), torch.from_numpy(inst_len).to(dev)
        return torch.repeat_interleave(z, reps, dim=0, output_size=int(inst_len.sum()))
    prep = check_codes(decoder, codes, action)
    offsets = (check_offsets(kind, offsets, length.size, prep.feature_dim)
               if spec.stores_offsets else None)
    t = _device_tensors(prep, dev)
    seg, _, start, c_np = instances(length, k_eff)
    if c_np.size == 0:
        return torch.empty((0, prep.feature_dim), dtype=torch.float32, device=dev)
    if spec.interpolates:
        return _decode_lerp_torch(codes, action, length, k_eff, t, dev, spec.across_segments)
    inst_np = np.repeat(np.arange(inst_len.size), inst_len)  # (T,) each frame's instance
    floats = [codes, c_np, c_np[start]] + ([offsets] if offsets is not None else [])
    ints = [action[seg], inst_np] + ([np.repeat(np.arange(length.size), length)]
                                     if offsets is not None else [])
    z, c, c_first, *off = _upload(dev, *floats)
    inst_action, inst, *frame_seg = _upload(dev, *ints)
    w_c = t["w_c"]
    base = z @ t["wz_t"] + t["wa_t"][inst_action]  # (N, H)
    on = (base + c_first[:, None] * w_c) > 0  # pattern at 1st frame
    zero = torch.zeros((), dtype=base.dtype, device=dev)
    pq = torch.cat([torch.where(on, base, zero), torch.where(on, w_c, zero)]) @ t["w2_t"]
    p, q = pq[: base.shape[0]] + t["b2"], pq[base.shape[0] :]
    out = torch.addcmul(p[inst], c[:, None], q[inst])
    h = base[inst] + c[:, None] * w_c  # (T, H), same float32 expression as the pattern test
    diff = torch.relu(h) - torch.where(on[inst], h, zero)  # nonzero only after a flip
    cols = torch.nonzero(diff.ne(0).any(dim=0)).flatten()
    if cols.numel():
        out += diff[:, cols] @ t["w2_t"][cols]
    if off:
        out += off[0][frame_seg[0]]
    return out


def _decode_lerp_torch(codes: np.ndarray, action: np.ndarray, length: np.ndarray,
                       k_eff: np.ndarray, t: dict[str, torch.Tensor],
                       dev: torch.device, across_segments: bool = False) -> torch.Tensor:
    """Interpolated codes (``content.MLP_LERP``; ``across_segments``: ``MLP_LERP_VIDEO``, the
    action term the frame's own): (T, D) float32 on ``dev`` (one float and one index
    upload)."""
    seg, _, _, c_np = instances(length, k_eff)
    left_np, right_np, w_np = lerp_weights(length, k_eff, across_segments)
    z, c, w = _upload(dev, codes, c_np, w_np)
    if across_segments:
        frame_action, left, right = _upload(dev, np.repeat(action, length), left_np, right_np)
        base = z @ t["wz_t"]  # (N, H)
        h = torch.lerp(base[left], base[right], w[:, None]) + t["wa_t"][frame_action]
        h = torch.relu(torch.addcmul(h, c[:, None], t["w_c"]))  # (T, H)
        return torch.addmm(t["b2"], h, t["w2_t"])
    inst_action, left, right = _upload(dev, action[seg], left_np, right_np)
    base = z @ t["wz_t"] + t["wa_t"][inst_action]  # (N, H)
    h = torch.lerp(base[left], base[right], w[:, None])
    h = torch.relu(torch.addcmul(h, c[:, None], t["w_c"]))  # (T, H)
    return torch.addmm(t["b2"], h, t["w2_t"])


def decode_video_torch(archive: Any, video: str | int | None = None, *, device: Any = None,
                       plan: DecodePlan | None = None) -> torch.Tensor:
    """Decode one stored video: (T, D) float32 tensor on ``device``.

    ``archive``: the video's ``view.VideoView`` (``video`` unused), or an open archive and
    ``video`` (resolved by ``view.video_view``). ``plan`` (``budget.DecodePlan``, checked by
    the caller): its segment groups are decoded one by one into the output, so the
    (frames, H) temporaries stay within the budget.
    """
    view = archive if isinstance(archive, VideoView) else video_view(archive, video)
    codes, dec, offsets = view.read()
    kind, action, length, k_eff = view.kind, view.action, view.length, view.k_eff
    if plan is None or len(plan.groups) == 1:
        return decode_segments_torch(kind, codes, action, length, k_eff, dec, device=device,
                                     offsets=offsets)
    out = None
    for seg, frames, rows, keep in group_slices(plan, length, k_eff,
                                                context=view.spec.across_segments):
        part = decode_segments_torch(kind, codes[rows], action[seg], length[seg], k_eff[seg],
                                     dec, device=device,
                                     offsets=None if offsets is None else offsets[seg])
        if out is None:
            out = torch.empty((int(length.sum()), part.shape[1]), dtype=torch.float32,
                              device=part.device)
        out[frames] = part[keep]
    return out
