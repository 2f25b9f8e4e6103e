"""``Inpainter(ensemble="flip")``: the mean of the prediction and that of the mirrored input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_toy_onnx

from rmnet_sdk import Inpainter
from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.imaging import composite, from_model_range, to_model_range


def test_flip_ensemble_averages_the_mirrored_prediction(tmp_path: Path) -> None:
    model = make_toy_onnx(tmp_path / "toy.onnx", resolution=64)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[10:30, 5:50] = True
    plain = Inpainter(model, backend="onnxruntime", strategy="resize")
    flip = Inpainter(model, backend="onnxruntime", strategy="resize", ensemble="flip")

    x = to_model_range(image).transpose(2, 0, 1)[None]
    m = hole[None, None].astype(np.float32)
    a = plain.backend.infer(x, m)[0]
    b = plain.backend.infer(np.ascontiguousarray(x[..., ::-1]), np.ascontiguousarray(m[..., ::-1]))[0]
    expected = composite(image, from_model_range((0.5 * (a + b[..., ::-1])).transpose(1, 2, 0)), hole)

    out = flip.run(image, hole)
    np.testing.assert_array_equal(out, expected)
    assert not np.array_equal(out, plain.run(image, hole))  # the toy model is not symmetric
    np.testing.assert_array_equal(out[~hole], image[~hole])


def test_unknown_ensemble_is_refused(tmp_path: Path) -> None:
    model = make_toy_onnx(tmp_path / "toy.onnx", resolution=64)
    with pytest.raises(InvalidInputError, match="ensemble"):
        Inpainter(model, backend="onnxruntime", ensemble="rot90")
