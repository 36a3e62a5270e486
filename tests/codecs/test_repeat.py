"""``RepeatCodec`` (``tascodec.codecs.repeat``): the base of the one-code-per-segment codecs; a
subclass picks each segment's code, the base builds the table, the codes and the MSE."""

from __future__ import annotations

import numpy as np
import pytest

from codec_checks import fake_source
from tascodec.codecs.repeat import RepeatCodec
from tascodec.errors import TascodecError


class MaxCodec(RepeatCodec):
    """Each segment's largest value per channel (a codec for this test only, not registered)."""

    codec_id = "max-test"

    def segment_code(self, frames: np.ndarray) -> np.ndarray:
        return frames.max(axis=0)


def test_one_code_per_segment_from_the_subclass_and_the_error_measured():
    y = np.array([0, 0, 1, 1, 1])
    x = np.array([[1, 3, 2, 4, 6], [0, 0, 5, 5, 5]], np.float32)  # (D = 2, T = 5)
    content = MaxCodec().encode(fake_source({"v": x}, {"v": y}))
    assert content.codec == "max-test" and content.decode_kind == "repeat"
    assert content.code_dim == 2 and content.table.seg_num_instances.tolist() == [1, 1]
    np.testing.assert_array_equal(content.codes, [[3, 0], [6, 5]])
    # squared errors: (1-3)^2 in the first segment, (2-6)^2 + (4-6)^2 in the second
    assert content.stats["reconstruction_mse"] == pytest.approx((4 + 16 + 4) / (5 * 2))
    assert content.stats["encode_seconds"] >= 0


def test_a_repeat_codec_takes_no_parameters_and_one_code_a_segment():
    with pytest.raises(TascodecError, match=r"codec 'max-test' takes no parameters, got \['k'\]"):
        MaxCodec(k=2)
    assert MaxCodec.encode_options["k"] == (1,) and MaxCodec().get_config() == {"id": "max-test"}
