"""The ``encoded`` codes (``tascodec.tca.encoder``): the per-instance mean of the TCA encoder's
mu."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tascodec.errors import TascodecError
from tascodec.tca.encoder import encoded_codes
from tascodec.tca.instance_plan import InversionPlan
from testkit import table_of

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_encoded_codes_are_instance_means(model, src):
    table = table_of(src, 3)
    codes = encoded_codes(model, src, table, batch_frames=17)
    plan = InversionPlan.build(src, table)
    x = torch.from_numpy(np.concatenate([src.features(v) for v in src.videos]))
    with torch.no_grad():
        mu, _ = model.encode(model.normalize(x), torch.from_numpy(plan.inst_action[plan.frame_inst]),
                             torch.from_numpy(plan.frame_c))
    want = np.stack([mu[plan.frame_inst == i].mean(0).numpy() for i in range(table.num_codes)])
    assert codes.shape == (table.num_codes, 6) and codes.dtype == np.float32
    np.testing.assert_allclose(codes, want, rtol=1e-4, atol=1e-5)


def test_the_codes_do_not_depend_on_the_batch_and_bad_batches_are_refused(model, src):
    table = table_of(src, 2)
    np.testing.assert_allclose(encoded_codes(model, src, table, batch_frames=7),
                               encoded_codes(model, src, table), rtol=1e-5, atol=1e-6)
    with pytest.raises(TascodecError, match="batch_frames must be >= 1"):
        encoded_codes(model, src, table, batch_frames=0)
