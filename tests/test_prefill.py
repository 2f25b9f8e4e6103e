"""The pyramid prefill: NumPy reference, Keras layer, and the exported graph on every CPU runtime."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rmnet_sdk.mask_generators import MaskSampler
from rmnet_sdk.prefill import (
    BINOMIAL_5,
    blur,
    double,
    halve,
    is_prefill_node,
    prefill_uint8,
    pyramid_prefill,
)


def _photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colour field plus texture (prefill estimates are easy to check on it)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([np.sin(xx / 17.0), np.cos(yy / 23.0), np.sin((xx + yy) / 31.0)], -1)
    return np.clip(0.6 * base + 0.1 * rng.standard_normal((h, w, 3)), -1, 1).astype(np.float32)


def test_blur_matches_a_dilated_binomial_filter() -> None:
    x = np.random.default_rng(1).standard_normal((40, 33, 2)).astype(np.float32)
    for d in (1, 2, 4):
        k1 = np.zeros(4 * d + 1, np.float32)
        k1[::d] = BINOMIAL_5
        ref = np.stack([cv2.sepFilter2D(x[..., c], -1, k1, k1, borderType=cv2.BORDER_CONSTANT)
                        for c in range(2)], -1)
        np.testing.assert_allclose(blur(x, d), ref, atol=1e-5)


def test_halve_and_double_keep_the_half_pixel_grid() -> None:
    # a linear ramp stays a ramp with the same centre through halve + double (no half-pixel shift)
    ramp = np.tile(np.arange(32, dtype=np.float32)[None, :, None], (32, 1, 1))
    ones = np.ones_like(ramp)
    halved = halve(ramp) / halve(ones)  # normalised: the zero padding carries no weight
    np.testing.assert_allclose(halved[8, 4:12, 0], np.arange(4, 12) * 2 + 0.5, atol=1e-5)
    np.testing.assert_allclose(double(halved)[8, 8:24, 0], np.arange(8, 24), atol=1e-4)


@pytest.mark.parametrize("shape", [(64, 80), (50, 71)])  # 50x71: padded to 64x80 and cropped
def test_known_pixels_exact_and_constants_reproduced(shape: tuple[int, int]) -> None:
    x = _photo_like(*shape)
    hole = MaskSampler().sample_bucket(shape, np.random.default_rng(0), 4)
    out = pyramid_prefill(x, hole)
    assert out.shape == x.shape
    assert np.array_equal(out[~hole], x[~hole])
    assert np.isfinite(out).all()
    const = np.full((48, 48, 3), 0.25, np.float32)  # a flat image is filled with its value
    np.testing.assert_allclose(pyramid_prefill(const, hole[:48, :48]), const, atol=1e-5)


def test_all_hole_and_no_hole_edge_cases() -> None:
    x = _photo_like(32, 32)
    np.testing.assert_array_equal(pyramid_prefill(x, np.zeros((32, 32), bool)), x)
    full = pyramid_prefill(x, np.ones((32, 32), bool))
    assert np.isfinite(full).all() and np.abs(full).max() == 0.0


def test_a_far_hole_takes_the_coarse_estimate() -> None:
    # left half red, right half blue, a hole in the middle of the red half: the fill is red
    x = np.zeros((64, 128, 3), np.float32)
    x[:, :64, 0] = 1.0
    x[:, 64:, 2] = 1.0
    hole = np.zeros((64, 128), bool)
    hole[24:40, 20:44] = True
    out = pyramid_prefill(x, hole)
    assert out[hole][:, 0].min() > 0.9 and out[hole][:, 2].max() < 0.1


def test_prefill_beats_a_mean_fill_on_a_real_photo(photos_dir) -> None:
    from rmnet_sdk.evaluation import center_square
    from rmnet_sdk.imaging import list_images, read_image

    rgb = center_square(read_image(list_images(photos_dir)[0]), 128)
    hole = MaskSampler().sample_bucket((128, 128), np.random.default_rng(3), 2)
    out = prefill_uint8(rgb, hole)
    mean_fill = np.where(hole[..., None], rgb[~hole].mean(0).astype(np.uint8), rgb)
    err = lambda o: np.abs(o.astype(float) - rgb)[hole].mean()  # noqa: E731
    assert np.array_equal(out[~hole], rgb[~hole])
    assert err(out) < 0.8 * err(mean_fill)


def test_is_prefill_node() -> None:
    assert is_prefill_node("rmnet_generator_1/prefill_1/convolution_3")
    assert is_prefill_node("model/prefill/Div")
    assert not is_prefill_node("rmnet_generator_1/prefilled/conv")
    assert not is_prefill_node("rmnet_generator_1/enc1_conv_1/convolution")


# -- Keras layer and export -----------------------------------------------------------------------

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("shape", [(64, 64), (48, 80), (16, 16)])
def test_keras_layer_matches_numpy(shape: tuple[int, int]) -> None:
    from rmnet_sdk.training.layers import PyramidPrefill

    x = _photo_like(*shape, seed=2)
    hole = MaskSampler().sample_bucket(shape, np.random.default_rng(5), 3).astype(np.float32)
    layer = PyramidPrefill()
    out = keras.ops.convert_to_numpy(layer(x[None], hole[None, ..., None]))[0]
    np.testing.assert_allclose(out, pyramid_prefill(x, hole), atol=2e-6)
    assert np.array_equal(out[hole == 0], x[hole == 0])


def test_untrained_residual_generator_is_the_prefill(tmp_path) -> None:
    from rmnet_sdk.training.model import build_generator

    g = build_generator(8, prefill=True)
    x = _photo_like(64, 64, seed=4)
    hole = MaskSampler().sample_bucket((64, 64), np.random.default_rng(1), 2).astype(np.float32)
    out = keras.ops.convert_to_numpy(g([x[None], hole[None, ..., None]], training=False))[0]
    np.testing.assert_allclose(out, np.clip(pyramid_prefill(x, hole), -1, 1), atol=2e-6)
    g.save(tmp_path / "g.keras")  # registered layers: loads in safe mode
    g2 = keras.models.load_model(tmp_path / "g.keras", safe_mode=True)
    out2 = keras.ops.convert_to_numpy(g2([x[None], hole[None, ..., None]], training=False))[0]
    np.testing.assert_array_equal(out, out2)


def test_exported_prefill_graph_runs_at_any_size_on_ort_and_opencv(tmp_path) -> None:
    """The ONNX graph is shape-agnostic: sizes that do not halve evenly (384x208, 400x144) give
    the Keras result on ONNX Runtime and on OpenCV DNN."""
    pytest.importorskip("tf2onnx")
    import onnx
    import onnxruntime as ort

    from rmnet_sdk.export.onnx import keras_to_onnx
    from rmnet_sdk.training.model import build_generator

    g = build_generator(8, prefill=True)
    corr = g.get_layer("correction")
    w, b = corr.get_weights()
    corr.set_weights([np.random.default_rng(0).normal(0, 0.05, w.shape).astype(np.float32), b])
    proto, _ = keras_to_onnx(g)
    path = tmp_path / "g.onnx"
    onnx.save(proto, str(path))
    # no shape ops; no Max/Min with a constant input (OpenCV DNN 4.6, the C++ runtime's CPU
    # backend on Debian 12, cannot import those)
    assert not [n for n in proto.graph.node if n.op_type in ("Reshape", "Slice", "Shape", "Max", "Min")]
    used = {name for node in proto.graph.node for name in node.input}
    assert not [t.name for t in proto.graph.initializer if t.name not in used]  # no stale shapes
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    net = cv2.dnn.readNetFromONNX(str(path))
    for h, w_ in [(64, 64), (384, 208), (400, 144)]:
        rng = np.random.default_rng(h)
        x = rng.uniform(-1, 1, (1, 3, h, w_)).astype(np.float32)
        m = (rng.random((1, 1, h, w_)) < 0.3).astype(np.float32)
        ref = keras.ops.convert_to_numpy(
            g([x.transpose(0, 2, 3, 1), m.transpose(0, 2, 3, 1)], training=False)).transpose(0, 3, 1, 2)
        got = session.run(None, {"image": x, "mask": m})[0]
        net.setInput(x, "image")
        net.setInput(m, "mask")
        np.testing.assert_allclose(got, ref, atol=1e-5)
        np.testing.assert_allclose(net.forward(), ref, atol=1e-5)
