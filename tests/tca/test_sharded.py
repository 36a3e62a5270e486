"""A TCA training step split over ranks (``tascodec.tca.sharded``): alone there is none; on one
rank of a process group it is the one-process step (several ranks: ``tests/runtime/
test_parallel.py``)."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from tascodec.runtime.world import World  # noqa: E402
from tascodec.tca.model import TCA  # noqa: E402
from tascodec.tca.sharded import ShardedStep, sharded_step  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
CPU = torch.device("cpu")


def test_alone_there_is_no_sharded_step():
    model = TCA(feature_dim=6, num_classes=3, latent_dim=2, hidden_dim=8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    assert sharded_step(model, opt, 1.0, CPU) is None


def test_a_step_on_one_rank_is_the_one_process_step(tmp_path):
    dist = torch.distributed
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'group'}", rank=0,
                            world_size=1)
    try:
        torch.manual_seed(0)
        model = TCA(feature_dim=6, num_classes=3, latent_dim=2, hidden_dim=8)
        twin = copy.deepcopy(model)
        step = ShardedStep(model, torch.optim.Adam(model.parameters(), lr=1e-2), 0.5, World(),
                           CPU)
        xb, ab, cb = torch.randn(10, 6), torch.randint(0, 3, (10,)), torch.rand(10)
        j = torch.tensor([3, 1, 4, 7])
        torch.manual_seed(1)
        sums = step(xb, ab, cb, j)
        # the same batch in one process: the same noise, the batch-mean loss, one Adam step
        torch.manual_seed(1)
        eps = torch.randn(4, 2)
        x, a, c = xb[j], ab[j], cb[j]
        mu, logvar = twin.encode(x, a, c)
        x_hat = twin.decode(mu + eps * torch.exp(0.5 * logvar), a, c)
        recon = (x_hat - x).pow(2).sum() / (4 * 6)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum() / 4
        loss = recon + 0.5 * kl / 6
        opt = torch.optim.Adam(twin.parameters(), lr=1e-2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        want = 4 * torch.stack([loss, recon, kl]).detach().double()
        torch.testing.assert_close(sums, want)
        for mine, theirs in zip(model.parameters(), twin.parameters()):
            torch.testing.assert_close(mine, theirs)
        assert torch.equal(step.epoch_sums(sums), sums)  # alone: nothing to add
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()
