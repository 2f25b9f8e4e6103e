"""The native preprocess/composite kernels against the Python reference.

The reference is ``rmnet_sdk.imaging`` / ``rmnet_sdk.masks`` itself (not a copy): the CPU twins must
match it within 1 LSB (1/127.5 in model units) for preprocess, bit-exactly in known pixels and
within 1 LSB in holes for composite. The ``gpu`` tests then hold the CUDA kernels to the twins.
"""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest

from rmnet_sdk import imaging, masks
from rmnet_sdk.errors import InvalidInputError

if importlib.util.find_spec("rmnet_sdk._native") is None:
    pytest.skip("rmnet_sdk._native is not built: pip install --no-build-isolation -e .",
                allow_module_level=True)
from rmnet_sdk import _native  # noqa: E402

LSB = 1.0 / 127.5
TOL = LSB * (1 + 1e-5)  # 1 LSB, plus float rounding of the comparison itself

# (H, W) full resolution -> (h, w) model resolution: odd sizes, extreme aspect ratios, integer
# and fractional ratios, identity, upscaling and a mixed (one side up, one down) case.
SIZES = [
    ((101, 77), (256, 256)),
    ((3000, 200), (256, 256)),
    ((512, 512), (256, 256)),
    ((300, 400), (256, 256)),
    ((256, 256), (256, 256)),
    ((77, 300), (64, 128)),
    ((17, 9), (32, 48)),
]


def make_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Noise on a gradient: every rounding case shows up, edges included."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255.0 / max(w - 1, 1), yy * 255.0 / max(h - 1, 1),
                     np.full((h, w), 128.0)], -1)
    noise = rng.normal(0, 40, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def make_hole(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    hole = np.zeros((h, w), bool)
    hole[h // 3: h // 2 + 1, w // 4: w // 2 + 1] = True
    hole[rng.random((h, w)) < 0.002] = True  # isolated pixels: must survive downscaling
    return hole


def reference_preprocess(image, hole, size, bgr=False):
    rgb = np.ascontiguousarray(image[..., ::-1]) if bgr else image
    small = imaging.resize_image(rgb, size)
    small_hole = masks.resize_hole_mask(hole, size)
    x = imaging.to_model_range(small)
    x[small_hole] = 0.0
    return x.transpose(2, 0, 1)[None], small_hole[None, None].astype(np.float32)


def reference_composite(image, hole, pred_chw):
    up = imaging.upsample_prediction(pred_chw.transpose(1, 2, 0), image.shape[:2])
    return imaging.composite(image, imaging.from_model_range(up), hole)


def random_prediction(rng, h, w, dtype=np.float32):
    return np.tanh(rng.normal(0, 1.2, (3, h, w))).astype(dtype)


@pytest.mark.parametrize(("full", "model"), SIZES, ids=lambda s: "x".join(map(str, s)))
def test_preprocess_matches_reference(full, model):
    rng = np.random.default_rng(sum(full) + sum(model))
    image, hole = make_image(rng, *full), make_hole(rng, *full)
    x, m = _native.preprocess_cpu(image, hole, *model)
    rx, rm = reference_preprocess(image, hole, model)
    assert x.shape == (1, 3, *model) and m.shape == (1, 1, *model)
    assert x.dtype == np.float32 and m.dtype == np.float32
    np.testing.assert_array_equal(m, rm)  # the hole rule is exact integer maths
    assert np.abs(x - rx).max() <= TOL
    if full == model:
        np.testing.assert_array_equal(x, rx)  # no resampling: bit-exact


def test_preprocess_pitched_views_and_uint8_mask():
    rng = np.random.default_rng(3)
    wide = make_image(rng, 101, 120)
    wide_hole = make_hole(rng, 101, 130)
    image = wide[:, 7:84]                      # rows 360 bytes apart, 77 pixels wide
    hole = wide_hole[:, 11:88]
    assert not image.flags.c_contiguous and not hole.flags.c_contiguous
    x, m = _native.preprocess_cpu(image, hole.view(np.uint8) * 255, 256, 256)
    cx, cm = _native.preprocess_cpu(np.ascontiguousarray(image), np.ascontiguousarray(hole), 256, 256)
    np.testing.assert_array_equal(x, cx)
    np.testing.assert_array_equal(m, cm)
    rx, rm = reference_preprocess(np.ascontiguousarray(image), np.ascontiguousarray(hole), (256, 256))
    assert np.abs(x - rx).max() <= TOL


def test_preprocess_bgr_and_fp16():
    rng = np.random.default_rng(4)
    rgb, hole = make_image(rng, 90, 70), make_hole(rng, 90, 70)
    x, _ = _native.preprocess_cpu(rgb, hole, 64, 64)
    xb, _ = _native.preprocess_cpu(np.ascontiguousarray(rgb[..., ::-1]), hole, 64, 64, bgr=True)
    np.testing.assert_array_equal(x, xb)
    # A reversed-channel *view* (negative stride) is copied once, with the same result.
    xv, _ = _native.preprocess_cpu(rgb[..., ::-1], hole, 64, 64, bgr=True)
    np.testing.assert_array_equal(x, xv)
    h, mh = _native.preprocess_cpu(rgb, hole, 64, 64, dtype="float16")
    assert h.dtype == np.float16 and mh.dtype == np.float16
    np.testing.assert_array_equal(h, x.astype(np.float16))  # numpy also rounds half to even


@pytest.mark.parametrize("full", [(101, 77), (37, 16), (5, 3)], ids=str)
def test_preprocess_padded_region_matches_original_strategy(full):
    """region=(H, W): reflect-101 padding to a multiple of 16, padding counted as known."""
    rng = np.random.default_rng(5)
    image, hole = make_image(rng, *full), make_hole(rng, *full)
    h, w = full
    ph, pw = (-h) % 16, (-w) % 16
    x, m = _native.preprocess_cpu(image, hole, h + ph, w + pw, region=(h, w))
    padded = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_REFLECT_101)
    padded_hole = np.pad(hole, ((0, ph), (0, pw)))
    rx, rm = reference_preprocess(padded, padded_hole, padded.shape[:2])
    np.testing.assert_array_equal(m, rm)
    np.testing.assert_array_equal(x, rx)


@pytest.mark.parametrize(("full", "model"), SIZES, ids=lambda s: "x".join(map(str, s)))
def test_composite_matches_reference(full, model):
    rng = np.random.default_rng(10 + sum(full))
    image, hole = make_image(rng, *full), make_hole(rng, *full)
    pred = random_prediction(rng, *model)
    out = _native.composite_cpu(image, hole, pred)
    ref = reference_composite(image, hole, pred)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~hole], image[~hole])  # known pixels: copied
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    assert (out == ref).mean() > 0.999  # in practice bit-exact almost everywhere


def test_composite_pitched_bgr_and_fp16():
    rng = np.random.default_rng(11)
    wide = make_image(rng, 3000, 260)
    image = wide[:, 30:230]
    hole = make_hole(rng, 3000, 240)[:, 20:220]
    pred = random_prediction(rng, 256, 256)
    out = _native.composite_cpu(image, hole, pred)
    np.testing.assert_array_equal(out, _native.composite_cpu(np.ascontiguousarray(image),
                                                             np.ascontiguousarray(hole), pred))
    ref = reference_composite(np.ascontiguousarray(image), hole, pred)
    assert np.abs(out.astype(int) - ref).max() <= 1
    bgr = _native.composite_cpu(np.ascontiguousarray(image[..., ::-1]), hole, pred, bgr=True)
    np.testing.assert_array_equal(bgr[..., ::-1], out)
    half = pred.astype(np.float16)
    np.testing.assert_array_equal(_native.composite_cpu(image, hole, half),
                                  _native.composite_cpu(image, hole, half.astype(np.float32)))
    # A [1,3,h,w] prediction (the model's output) is accepted as is.
    np.testing.assert_array_equal(_native.composite_cpu(image, hole, pred[None]), out)


def test_composite_region_crops_padded_prediction():
    rng = np.random.default_rng(12)
    image, hole = make_image(rng, 101, 77), make_hole(rng, 101, 77)
    pred = random_prediction(rng, 112, 80)
    out = _native.composite_cpu(image, hole, pred, region=(101, 77))
    ref = reference_composite(image, hole, np.ascontiguousarray(pred[:, :101, :77]))
    np.testing.assert_array_equal(out, ref)


def test_bad_inputs_raise():
    img = np.zeros((20, 30, 3), np.uint8)
    hole = np.zeros((20, 30), bool)
    with pytest.raises(InvalidInputError, match="HxWx3"):
        _native.preprocess_cpu(np.zeros((20, 30, 4), np.uint8), hole, 16, 16)
    with pytest.raises(InvalidInputError, match="uint8"):
        _native.preprocess_cpu(img.astype(np.float32), hole, 16, 16)
    with pytest.raises(InvalidInputError, match="differ in size"):
        _native.preprocess_cpu(img, np.zeros((21, 30), bool), 16, 16)
    with pytest.raises(ValueError):
        _native.preprocess_cpu(img, hole, 16, 16, region=(32, 16))  # region outside the tensor
    with pytest.raises(InvalidInputError):
        _native.preprocess_cpu(img, hole, 16, 16, dtype="float64")
    with pytest.raises(InvalidInputError, match=r"\[3,h,w\]"):
        _native.composite_cpu(img, hole, np.zeros((4, 16, 16), np.float32))
    with pytest.raises(InvalidInputError, match="float32 or float16"):
        _native.composite_cpu(img, hole, np.zeros((3, 16, 16), np.float64))


def test_gpu_entry_points_without_device_raise_runtime_error():
    if _native.cuda_device_count() > 0:
        pytest.skip("a CUDA device is present (see the gpu tests)")
    img = np.zeros((20, 30, 3), np.uint8)
    hole = np.zeros((20, 30), bool)
    with pytest.raises(RuntimeError, match="CUDA"):
        _native.preprocess_gpu(img, hole, 16, 16)
    with pytest.raises(RuntimeError, match="CUDA"):
        _native.composite_gpu(img, hole, np.zeros((3, 16, 16), np.float32))


# -- GPU: kernels vs their CPU twins ----------------------------------------------------------

def _need_gpu():
    if not _native.WITH_CUDA:
        pytest.skip("rmnet_sdk._native was built without CUDA")
    if _native.cuda_device_count() == 0:
        pytest.skip("no CUDA device (cuda_device_count() == 0)")


@pytest.mark.gpu
@pytest.mark.parametrize(("full", "model"), SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_gpu_preprocess_equals_cpu_twin(full, model, dtype):
    _need_gpu()
    rng = np.random.default_rng(20)
    wide = make_image(rng, full[0], full[1] + 9)
    image, hole = wide[:, 4:4 + full[1]], make_hole(rng, *full)
    for bgr in (False, True):
        gx, gm = _native.preprocess_gpu(image, hole, *model, bgr, dtype=dtype)
        cx, cm = _native.preprocess_cpu(image, hole, *model, bgr, dtype=dtype)
        np.testing.assert_array_equal(gm, cm)
        assert np.abs(gx.astype(np.float32) - cx.astype(np.float32)).max() <= TOL
        assert (gx == cx).mean() > 0.9999  # shared integer/rounded maths: bit-exact in practice


@pytest.mark.gpu
@pytest.mark.parametrize(("full", "model"), SIZES, ids=lambda s: "x".join(map(str, s)))
def test_gpu_composite_equals_cpu_twin(full, model):
    _need_gpu()
    rng = np.random.default_rng(21)
    image, hole = make_image(rng, *full), make_hole(rng, *full)
    for dtype in (np.float32, np.float16):
        pred = random_prediction(rng, *model, dtype=dtype)
        g = _native.composite_gpu(image, hole, pred)
        c = _native.composite_cpu(image, hole, pred)
        np.testing.assert_array_equal(g[~hole], image[~hole])
        assert np.abs(g.astype(int) - c).max() <= 1
        assert (g == c).mean() > 0.9999


@pytest.mark.gpu
def test_gpu_padded_region_equals_cpu_twin():
    _need_gpu()
    rng = np.random.default_rng(22)
    image, hole = make_image(rng, 101, 77), make_hole(rng, 101, 77)
    g = _native.preprocess_gpu(image, hole, 112, 80, region=(101, 77))
    c = _native.preprocess_cpu(image, hole, 112, 80, region=(101, 77))
    np.testing.assert_array_equal(g[0], c[0])
    np.testing.assert_array_equal(g[1], c[1])
