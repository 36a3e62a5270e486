"""The ``encoded`` codes: per-instance mean of the TCA encoder's mu (the paper's "Encoded").

Used by the ``encoded`` codec and as the warm start of inversion (``init="encoded"``).
Shapes: N instances (codes), d latent width.
"""

from __future__ import annotations

import numpy as np
import torch

from ..content import SegmentTable
from ..runtime.determinism import segment_sum
from ..runtime.devices import resolve_device
from ..errors import TascodecError
from ..dataset.source import FrameSource
from .model import TCA
from .instance_plan import InversionPlan, on_device, require_encoder

__all__ = ["encoded_codes"]


@torch.no_grad()
def encoded_codes(model: TCA, source: FrameSource, table: SegmentTable, *,
                  device: str | None = None, batch_frames: int = 8192,
                  plan: InversionPlan | None = None) -> np.ndarray:
    """The ``encoded`` baseline: per-instance mean of the encoder's mu, (N, d) float32."""
    model = require_encoder(model)
    if batch_frames < 1:
        raise TascodecError(f"encoded_codes: batch_frames must be >= 1, got {batch_frames}")
    plan = plan or InversionPlan.build(source, table)
    dev = resolve_device(device) if device else next(model.parameters()).device
    model = on_device(model, dev)
    total = int(plan.video_first_frame[-1])
    sums = torch.zeros(plan.inst_length.size, model.latent_dim, dtype=torch.float64, device=dev)
    for f0 in range(0, total, batch_frames):
        f1 = min(total, f0 + batch_frames)
        x = model.normalize(torch.from_numpy(plan.frames(source, f0, f1)).to(dev))
        lo, hi = int(plan.frame_inst[f0]), int(plan.frame_inst[f1 - 1]) + 1
        inst = torch.from_numpy(plan.frame_inst[f0:f1] - lo).to(dev)
        a = torch.from_numpy(plan.inst_action[plan.frame_inst[f0:f1]]).to(dev)
        mu, _ = model.encode(x, a, torch.from_numpy(plan.frame_c[f0:f1]).to(dev))
        sums[lo:hi] += segment_sum(mu.double(), inst, hi - lo)  # ordered: no CUDA atomics
    counts = torch.from_numpy(plan.inst_length).to(dev, torch.float64).clamp_min(1)
    return (sums / counts[:, None]).float().cpu().numpy()
