"""Checks shared by the tests of the harness's segmentation models (MS-TCN, ASFormer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tascodec.errors import TascodecError


def video(t: int, d: int, a: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features (d, t) whose class is readable from the frame, and labels in three segments."""
    rng = np.random.default_rng(seed)
    labels = np.sort(rng.integers(0, a, size=t)).astype(np.int64)
    proto = rng.normal(size=(a, d)).astype(np.float32) * 2
    x = proto[labels].T + 0.1 * rng.normal(size=(d, t)).astype(np.float32)
    return x.astype(np.float32), labels


def assert_padding_invisible(model: torch.nn.Module, dim: int, lengths: list[int],
                             extra: int) -> None:
    """A padded batch of videos of ``lengths`` (plus ``extra`` padded frames) scores each real
    frame as that video alone does, whatever the padding holds, and padded frames as 0."""
    t_max = max(lengths) + extra
    x = torch.zeros(len(lengths), dim, t_max)
    mask = torch.zeros(len(lengths), t_max)
    with torch.no_grad():
        singles = []
        for b, t in enumerate(lengths):
            xb = torch.randn(dim, t, generator=torch.Generator().manual_seed(b))
            x[b, :, :t] = xb
            mask[b, :t] = 1
            singles.append(model(xb.unsqueeze(0))[:, 0])
        x[:, :, :] += (1 - mask[:, None]) * 3.0  # padding content must not matter either
        out = model(x, mask)
    for b, t in enumerate(lengths):
        torch.testing.assert_close(out[:, b, :, :t], singles[b], rtol=1e-5, atol=1e-5)
        assert torch.all(out[:, b, :, t:] == 0)


def assert_rejects_bad_input(model: torch.nn.Module, dim: int) -> None:
    """Input of another width and a mask of another length are errors naming them."""
    with pytest.raises(TascodecError, match=rf"\(B, {dim}, T\)"):
        model(torch.randn(1, dim + 1, 4))
    with pytest.raises(TascodecError, match="mask"):
        model(torch.randn(1, dim, 4), torch.ones(1, 3))
