"""The native runtime's bad-input answers: typed errors from rmnet_sdk.errors, the same class as the
Python path for the same input, and messages that name what is actually wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_native

from rmnet_sdk import masks
from rmnet_sdk.errors import InvalidInputError, ModelError, RMNetError

_native = require_native()


def _model(path: Path, last: list, out_name: str = "prediction", out_channels: int = 3) -> Path:
    """An ONNX with the runtime's inputs whose output is made by ``last`` from ``masked``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dims = lambda c: ["N", c, "H", "W"]  # noqa: E731
    nodes = [helper.make_node("Sub", ["one", "mask"], ["valid"]),
             helper.make_node("Mul", ["image", "valid"], ["masked"]), *last]
    graph = helper.make_graph(
        nodes, "bad_output",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims(3)),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, dims(1))],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, dims(out_channels))],
        initializer=[numpy_helper.from_array(np.ones((1,), np.float32), "one")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8),
              str(path))
    return path


def _inputs(h: int = 40, w: int = 40) -> tuple[np.ndarray, np.ndarray]:
    image = np.full((h, w, 3), 90, np.uint8)
    hole = np.zeros((h, w), np.uint8)
    hole[h // 4: h // 2, w // 4: w // 2] = 1
    return image, hole


def test_model_size_out_of_range_is_invalid_input(tiny_onnx: Path) -> None:
    with pytest.raises(InvalidInputError, match="modelSize must be a multiple of 16 from 16 to 8192"):
        _native.Inpainter(str(tiny_onnx), model_size=65536)
    _native.Inpainter(str(tiny_onnx), model_size=8192)  # the largest accepted


def test_original_strategy_refuses_images_beyond_the_largest_tensor(tiny_onnx: Path) -> None:
    inp = _native.Inpainter(str(tiny_onnx), strategy="original")
    image, hole = _inputs(1, 8193)
    with pytest.raises(InvalidInputError, match="larger than the largest model tensor"):
        inp.run(image, hole)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_masks_are_rejected_like_the_python_path(tiny_onnx: Path, bad: float) -> None:
    image, hole = _inputs()
    mask = hole.astype(np.float32)
    mask[0, 0] = bad
    with pytest.raises(InvalidInputError) as python_error:
        masks.as_hole_mask(mask)
    with pytest.raises(InvalidInputError, match="NaN or Inf") as native_error:
        _native.Inpainter(str(tiny_onnx)).run(image, mask)
    assert type(native_error.value) is type(python_error.value)
    with pytest.raises(InvalidInputError, match="complex64"):
        _native.Inpainter(str(tiny_onnx)).run(image, hole.astype(np.complex64))


@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 5, 3), (5, 0, 3)])
def test_empty_image_says_empty(tiny_onnx: Path, shape: tuple[int, int, int]) -> None:
    inp = _native.Inpainter(str(tiny_onnx))
    with pytest.raises(InvalidInputError, match=r"image: empty image, shape \(") as err:
        inp.run(np.zeros(shape, np.uint8), np.zeros(shape[:2], np.uint8))
    assert "packed" not in str(err.value)


@pytest.mark.parametrize("side", [1, 8])
def test_tiny_inputs_run(tiny_onnx: Path, side: int) -> None:
    image, _ = _inputs(side, side)
    hole = np.zeros((side, side), np.uint8)
    hole[0, 0] = 1
    for strategy in ("original", "resize"):
        out = _native.Inpainter(str(tiny_onnx), strategy=strategy).run(image, hole)
        assert out.shape == image.shape
        np.testing.assert_array_equal(out[hole == 0], image[hole == 0])


def test_output_errors_name_what_is_wrong(tmp_path: Path) -> None:
    from onnx import helper

    if not _native.WITH_OPENCV:
        pytest.skip("rmnet_sdk._native was built without OpenCV (no CPU backend)")
    image, hole = _inputs()
    named = _model(tmp_path / "named.onnx", [helper.make_node("Tanh", ["masked"], ["out"])],
                   out_name="out")
    with pytest.raises(ModelError, match=r"no output named 'prediction' \(its outputs: 'out'\)"):
        _native.Inpainter(str(named))

    half = _model(tmp_path / "half.onnx", [helper.make_node(
        "AveragePool", ["masked"], ["prediction"], kernel_shape=[2, 2], strides=[2, 2])])
    with pytest.raises(ModelError, match="'prediction' is 1x3x128x128 fp32, expected 1x3x256x256"):
        _native.Inpainter(str(half)).run(image, hole)

    one = _model(tmp_path / "one.onnx", [helper.make_node(
        "ReduceMean", ["masked"], ["prediction"], axes=[1], keepdims=1)], out_channels=1)
    with pytest.raises(RMNetError, match="cannot run the model on a 1x3x256x256 fp32 input") as err:
        _native.Inpainter(str(one)).run(image, hole)
    assert "must be named" not in str(err.value)
