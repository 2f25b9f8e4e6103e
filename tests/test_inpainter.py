"""Inpainter: strategies, exact known pixels, batching, colour handling, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from conftest import synthetic_photo

from rmnet_sdk import Inpainter
from rmnet_sdk.errors import (
    BackendUnavailableError,
    InvalidInputError,
    ModelError,
    ModelNotFoundError,
    RMNetError,
)
from rmnet_sdk.imaging import from_model_range, resize_image, to_model_range, upsample_prediction
from rmnet_sdk.inpainter import EmptyMaskWarning, hole_boxes
from rmnet_sdk.mask_generators import make_mask
from rmnet_sdk.masks import resize_hole_mask

SIZES = [(100, 77), (256, 256), (1024, 768), (3000, 200)]


def _case(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    img = synthetic_photo(rng, h, w)
    hole = make_mask("mixed", (h, w), seed)
    if not hole.any():
        hole[h // 3, w // 3] = True
    return img, hole


@pytest.fixture(scope="module")
def inpainter(toy_onnx: Path) -> Inpainter:
    return Inpainter(toy_onnx, backend="onnxruntime")


@pytest.mark.parametrize("strategy", ["resize", "crop", "original"])
@pytest.mark.parametrize("size", SIZES)
def test_known_pixels_are_bit_exact(inpainter: Inpainter, strategy: str, size) -> None:
    img, hole = _case(*size)
    out = inpainter.run(img, hole, strategy=strategy)
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~hole], img[~hole])
    assert not np.array_equal(out[hole], img[hole])  # holes really were filled


def test_resize_strategy_matches_reference(toy_onnx: Path, inpainter: Inpainter) -> None:
    """Resize = INTER_AREA down, hole-dilating mask down, infer, bilinear up, composite."""
    img, hole = _case(100, 77, seed=3)
    res = inpainter.resolution
    small = resize_image(img, (res, res))
    small_hole = resize_hole_mask(hole, (res, res))
    x = to_model_range(small)
    x[small_hole] = 0
    sess = ort.InferenceSession(str(toy_onnx), providers=["CPUExecutionProvider"])
    (pred,) = sess.run(None, {"image": x.transpose(2, 0, 1)[None],
                              "mask": small_hole[None, None].astype(np.float32)})
    up = from_model_range(upsample_prediction(pred[0].transpose(1, 2, 0), (100, 77)))
    expected = np.where(hole[..., None], up, img)
    np.testing.assert_array_equal(inpainter.run(img, hole, strategy="resize"), expected)


@pytest.mark.parametrize(("size", "expected"), [((100, 77), "original"), ((128, 3000), "original"),
                                                ((129, 200), "resize"), ((1024, 768), "resize")])
def test_auto_strategy_is_original_up_to_twice_the_model_size(inpainter: Inpainter, size,
                                                              expected: str) -> None:
    assert inpainter.resolution == 64 and inpainter.strategy == "auto"
    assert inpainter.resolve_strategy(*size) == expected
    assert inpainter.resolve_strategy(*size, "crop") == "crop"
    img, hole = _case(*size)
    np.testing.assert_array_equal(inpainter.run(img, hole), inpainter.run(img, hole, strategy=expected))


def test_original_strategy_runs_at_full_resolution(toy_onnx: Path, inpainter: Inpainter) -> None:
    img, hole = _case(48, 80, seed=4)  # already a multiple of 16: no padding at all
    sess = ort.InferenceSession(str(toy_onnx), providers=["CPUExecutionProvider"])
    x = to_model_range(img)
    x[hole] = 0
    (pred,) = sess.run(None, {"image": x.transpose(2, 0, 1)[None],
                              "mask": hole[None, None].astype(np.float32)})
    expected = np.where(hole[..., None], from_model_range(pred[0].transpose(1, 2, 0)), img)
    np.testing.assert_array_equal(inpainter.run(img, hole, strategy="original"), expected)


def test_batch_and_list_equal_single_runs(inpainter: Inpainter) -> None:
    cases = [_case(120, 90, seed=s) for s in range(3)]
    singles = [inpainter.run(i, m) for i, m in cases]
    batch = inpainter.run(np.stack([c[0] for c in cases]), np.stack([c[1] for c in cases]))
    assert batch.shape == (3, 120, 90, 3)
    for s, b in zip(singles, batch, strict=True):
        np.testing.assert_array_equal(s, b)
    mixed = [_case(64, 64, 7), _case(300, 200, 8)]
    outs = inpainter.run([c[0] for c in mixed], [c[1] for c in mixed])
    assert isinstance(outs, list) and [o.shape for o in outs] == [(64, 64, 3), (300, 200, 3)]
    np.testing.assert_array_equal(outs[1], inpainter.run(*mixed[1]))
    # one mask broadcast to a whole batch
    imgs = np.stack([cases[0][0], cases[1][0]])
    shared = inpainter.run(imgs, cases[0][1])
    np.testing.assert_array_equal(shared[1], inpainter.run(cases[1][0], cases[0][1]))


def test_bgr_is_rgb_mirrored(inpainter: Inpainter) -> None:
    img, hole = _case(90, 110, seed=5)
    rgb_out = inpainter.run(img, hole)
    bgr_out = inpainter.run(np.ascontiguousarray(img[..., ::-1]), hole, color="bgr")
    np.testing.assert_array_equal(bgr_out, rgb_out[..., ::-1])


def test_alpha_passes_through(inpainter: Inpainter) -> None:
    img, hole = _case(90, 110, seed=6)
    alpha = np.random.default_rng(0).integers(0, 256, (90, 110, 1), dtype=np.uint8)
    out = inpainter.run(np.concatenate([img, alpha], axis=2), hole)
    assert out.shape == (90, 110, 4)
    np.testing.assert_array_equal(out[..., 3:], alpha)
    np.testing.assert_array_equal(out[..., :3], inpainter.run(img, hole))


@pytest.mark.parametrize("shape", [(90, 110), (90, 110, 1)])
def test_grayscale_in_grayscale_out(inpainter: Inpainter, shape) -> None:
    img, hole = _case(90, 110, seed=9)
    gray = img[..., 1].reshape(shape)
    out = inpainter.run(gray, hole)
    assert out.shape == shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out.reshape(90, 110)[~hole], gray.reshape(90, 110)[~hole])


def test_model_inputs_batch_by_shape_within_the_backend_limit(toy_onnx: Path) -> None:
    """A backend that takes at most 2 inputs a call gets chunks of <= 2 of one size, and the
    results are those of single runs."""
    inp = Inpainter(toy_onnx, backend="onnxruntime", strategy="original")
    cases = [_case(64, 48, seed=s) for s in range(3)] + [_case(32, 32, seed=9)]
    singles = [inp.run(i, m) for i, m in cases]
    inp.backend.max_batch = 2
    shapes = []
    real = inp.backend.infer
    inp.backend.infer = lambda image, mask: shapes.append(image.shape) or real(image, mask)
    outs = inp.run([c[0] for c in cases], [c[1] for c in cases])
    assert shapes == [(2, 3, 64, 48), (1, 3, 64, 48), (1, 3, 32, 32)]
    for single, out in zip(singles, outs, strict=True):
        np.testing.assert_array_equal(out, single)


def test_empty_mask_returns_copy_without_inference(toy_onnx: Path) -> None:
    inp = Inpainter(toy_onnx, backend="onnxruntime")
    calls = []
    real = inp.backend.infer
    inp.backend.infer = lambda *a: calls.append(1) or real(*a)
    img, _ = _case(70, 50)
    with pytest.warns(EmptyMaskWarning, match="no hole pixels"):  # almost always a mistake
        out = inp.run(img, np.zeros((70, 50), bool))
    np.testing.assert_array_equal(out, img)
    assert out is not img and calls == []


@pytest.mark.parametrize("strategy", ["resize", "crop", "original"])
def test_full_mask_gives_valid_output(inpainter: Inpainter, strategy: str) -> None:
    img, _ = _case(70, 50)
    out = inpainter.run(img, np.ones((70, 50), np.uint8), strategy=strategy)
    assert out.shape == img.shape and out.dtype == np.uint8


def test_mask_dtypes_are_equivalent(inpainter: Inpainter) -> None:
    img, hole = _case(64, 64, seed=11)
    ref = inpainter.run(img, hole)
    for m in (hole.astype(np.uint8) * 255, hole.astype(np.float32), hole[..., None]):
        np.testing.assert_array_equal(inpainter.run(img, m), ref)


def test_hole_boxes_cover_every_hole() -> None:
    hole = np.zeros((1000, 1500), bool)
    hole[10:20, 10:30] = True         # near a corner
    hole[500:520, 700:760] = True     # middle
    hole[520:560, 740:800] = True     # touching the previous one
    hole[990:1000, 1400:1500] = True  # bottom edge
    boxes = hole_boxes(hole, 256, 64)
    covered = np.zeros_like(hole)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= 1500 and 0 <= y0 < y1 <= 1000
        assert x1 - x0 >= 256 and y1 - y0 >= 256
        covered[y0:y1, x0:x1] = True
    assert covered[hole].all()
    assert len(boxes) == 3


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("image, mask, match", [
    (np.zeros((32, 32, 3), np.float32), np.ones((32, 32), bool), "uint8"),
    (np.zeros((32, 32, 5), np.uint8), np.ones((32, 32), bool), "HxWx3"),
    (np.zeros((2, 2, 32, 32, 3), np.uint8), np.ones((32, 32), bool), "HxWx3"),
    (np.zeros((32, 32, 3), np.uint8), np.ones((32, 31), bool), "same size"),
    (np.zeros((32, 32, 3), np.uint8), np.full((32, 32), np.nan, np.float32), "NaN"),
    (np.zeros((0, 32, 3), np.uint8), np.ones((0, 32), bool), "empty"),
    (np.zeros((0, 32, 32, 3), np.uint8), np.ones((0, 32, 32), bool), "empty"),
    (np.zeros((2, 32, 32, 3), np.uint8), np.ones((3, 32, 32), bool), "batch of 2"),
    (np.zeros((32, 32, 3), np.uint8), np.ones((32, 32, 2), bool), "mask"),
])
def test_bad_input_raises_typed_error(inpainter: Inpainter, image, mask, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        inpainter.run(image, mask)


def test_bad_arguments(inpainter: Inpainter, toy_onnx: Path) -> None:
    img, hole = _case(32, 32)
    with pytest.raises(InvalidInputError, match="color"):
        inpainter.run(img, hole, color="hsv")
    with pytest.raises(InvalidInputError, match="strategy"):
        inpainter.run(img, hole, strategy="tile")
    with pytest.raises(InvalidInputError, match="list"):
        inpainter.run([], [])
    with pytest.raises(InvalidInputError, match="backend"):
        Inpainter(toy_onnx, backend="cuda")
    with pytest.raises(InvalidInputError, match="multiple of 16"):
        Inpainter(toy_onnx, resolution=100)


def test_missing_and_corrupt_models(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        Inpainter(tmp_path / "nope.onnx", backend="onnxruntime")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ModelError):
        Inpainter(bad, backend="onnxruntime")
    assert issubclass(ModelNotFoundError, RMNetError) and issubclass(ModelNotFoundError, FileNotFoundError)


def test_explicit_unavailable_backend_lists_alternatives(toy_onnx: Path) -> None:
    from rmnet_sdk.backends import available_backends

    if available_backends()["tensorrt"] is None:
        pytest.skip("TensorRT is usable here")
    with pytest.raises(BackendUnavailableError, match="onnxruntime"):
        Inpainter(toy_onnx, backend="tensorrt")


def test_wrong_model_contract_is_a_model_error(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "other.onnx"))
    with pytest.raises(ModelError, match="not an R-MNet model"):
        Inpainter(tmp_path / "other.onnx", backend="onnxruntime")


@pytest.mark.parametrize("strategy", ["resize", "crop", "original"])
def test_native_backend_matches_onnxruntime(toy_onnx: Path, inpainter: Inpainter, strategy) -> None:
    import os

    from rmnet_sdk.backends import available_backends

    reason = available_backends()["native"]
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must build the native extension: {reason}")
        pytest.skip(reason)
    native = Inpainter(toy_onnx, backend="native")
    img, hole = _case(100, 77, seed=12)
    a = native.run(img, hole, strategy=strategy)
    b = inpainter.run(img, hole, strategy=strategy)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2
    np.testing.assert_array_equal(a[~hole], img[~hole])
