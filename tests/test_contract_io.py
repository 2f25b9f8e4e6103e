"""The IO contract and the one image -> model tensor conversion."""

from __future__ import annotations

import numpy as np
import pytest

from rmnet_sdk.contract import io
from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.imaging import to_model_inputs


def test_contract_names_and_channels():
    assert io.TENSOR_NAMES == ("image", "mask", "prediction")
    assert dict(io.INPUT_CHANNELS) == {"image": 3, "mask": 1}
    assert io.OUTPUT == ("prediction", 3)


@pytest.mark.parametrize("h, w", [(16, 16), (256, 384), (1024, 48)])
def test_check_spatial_size_accepts_multiples(h, w):
    assert io.check_spatial_size(h, w) == (h, w)


@pytest.mark.parametrize("h, w, hint", [(250, 256, "256x256"), (17, 33, "32x48"), (0, 16, None),
                                        (16.5, 16, None)])
def test_check_spatial_size_refuses_with_hint(h, w, hint):
    with pytest.raises(InvalidInputError, match="multiples of 16") as e:
        io.check_spatial_size(h, w)
    if hint:
        assert hint in str(e.value)


def test_to_model_inputs_values_layout_and_zeroed_holes():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    hole = np.zeros((32, 48), bool)
    hole[5:20, 7:30] = True
    x, m = to_model_inputs(rgb, hole)
    assert x.shape == (3, 32, 48) and m.shape == (1, 32, 48)
    assert x.dtype == np.float32 and m.dtype == np.float32 and x.flags.c_contiguous
    expected = rgb.astype(np.float32).transpose(2, 0, 1) / np.float32(127.5) - np.float32(1)
    assert np.array_equal(x[:, ~hole], expected[:, ~hole])
    assert np.all(x[:, hole] == 0.0)
    assert np.array_equal(m[0], hole.astype(np.float32))
    before = rgb.copy()
    to_model_inputs(rgb, hole)
    assert np.array_equal(rgb, before)


@pytest.mark.parametrize("rgb, hole", [
    (np.zeros((8, 8), np.uint8), np.zeros((8, 8), bool)),
    (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), bool)),
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9), bool)),
])
def test_to_model_inputs_refuses_bad_input(rgb, hole):
    with pytest.raises(InvalidInputError):
        to_model_inputs(rgb, hole)
