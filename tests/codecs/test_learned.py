"""What the learned codecs share (``tascodec.codecs.learned``): ``k`` checked, recipes resolved,
a table's rows, codes sharded (alone: one call), the decoder rounded as stored, K allocated."""

from __future__ import annotations

import numpy as np
import pytest

from tascodec.codecs.learned import (
    allocated_table,
    checked_k,
    resolve_recipe,
    sharded_codes,
    table_rows,
)
from tascodec.content import SegmentTable
from tascodec.errors import TascodecError

TABLE = SegmentTable.from_labels(["a", "b", "c"], [np.repeat([0, 1], [4, 6]), np.repeat([2], [3]),
                                                   np.repeat([1, 0, 2], [2, 2, 5])], 2)


@pytest.mark.parametrize("k, params, want", [(3, {}, 3), (np.int64(2), {}, 2), (None, {}, None),
                                              ("auto", {"budget_bytes": 5000}, "auto")])
def test_k_is_a_count_per_frame_or_auto(k, params, want):
    assert checked_k("inversion", k, params) == want


@pytest.mark.parametrize("k, params, match", [
    (0, {}, "k must be a positive integer, None"), (True, {}, "k must be"), ("2", {}, "k must be"),
    ("auto", {}, "k='auto' needs budget_bytes"), ("auto", {"budget_bytes": 0}, "budget_bytes"),
    (2, {"budget_bytes": 5000}, r"\['budget_bytes'\] needs k='auto'"),
])
def test_bad_k_is_named(k, params, match):
    with pytest.raises(TascodecError, match=f"codec 'inversion': .*{match}"):
        checked_k("inversion", k, params)


def test_a_recipe_resolves_to_plain_json_values():
    resolved = resolve_recipe("quick", {"epochs": 2, "invert_betas": (0.8, 0.9)})
    assert resolved["epochs"] == 2 and resolved["invert_betas"] == [0.8, 0.9]
    assert "name" not in resolved and resolved == resolve_recipe("quick", {
        "epochs": 2, "invert_betas": [0.8, 0.9]})


def test_rows_of_a_table_and_codes_made_alone_in_one_call():
    part = table_rows(TABLE, 1, 3)
    assert part.video_names == ["b", "c"] and part.seg_length.tolist() == [3, 2, 2, 5]
    assert part.num_codes == TABLE.num_codes - int(TABLE.video_first_code[1])
    calls = []

    def make(sub, first):
        calls.append((sub.video_names, first))
        return np.ones((sub.num_codes, 3), np.float32), "info"

    codes, infos = sharded_codes(TABLE, 3, make, "a phase")
    assert codes.shape == (TABLE.num_codes, 3) and infos == ["info"]
    assert calls == [(["a", "b", "c"], 0)]


def test_k_allocated_for_a_number_of_codes():
    table = allocated_table(TABLE, 9)
    assert int(table.seg_num_instances.sum()) == table.num_codes == 9
    assert (table.seg_num_instances >= 1).all()
    assert (table.seg_num_instances <= table.seg_length).all()


def test_the_decoder_as_a_reader_will_hold_it():
    torch = pytest.importorskip("torch")
    from tascodec.codecs.learned import decoder_as_stored
    from tascodec.tca.model import TCA

    model = TCA(feature_dim=5, num_classes=3, latent_dim=4, hidden_dim=8)
    rounded = decoder_as_stored(model)
    for mine, theirs in zip(model.decoder.parameters(), rounded.decoder.parameters()):
        assert torch.equal(theirs, mine.to(torch.float16).to(mine.dtype))
    assert rounded is not model
    assert any(not torch.equal(a, b) for a, b in zip(model.decoder.parameters(),
                                                     rounded.decoder.parameters()))
