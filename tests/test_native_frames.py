"""Camera pixel formats in the C++ runtime (frame.hpp): the CPU twin of the conversion kernel
against OpenCV's cvtColor, and Inpainter.run_frame's exactness per format."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import require_native

from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.mask_generators import make_mask

_native = require_native("convert_frame")

SIZES = [(2, 2), (6, 10), (48, 64), (120, 98)]

# (our format, cv2 code to RGB) -- YUV: cv2's integer BT.601 video range, which the kernel copies
TO_RGB = {"nv12": cv2.COLOR_YUV2RGB_NV12, "i420": cv2.COLOR_YUV2RGB_I420,
          "bgra": cv2.COLOR_BGRA2RGB, "rgba": cv2.COLOR_RGBA2RGB, "bgr": cv2.COLOR_BGR2RGB}


def _frame(fmt: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    if fmt in ("nv12", "i420"):
        return rng.integers(0, 256, (h * 3 // 2, w), dtype=np.uint8)
    return rng.integers(0, 256, (h, w, 4 if fmt.endswith("a") else 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", sorted(TO_RGB))
@pytest.mark.parametrize("size", SIZES, ids=str)
def test_conversion_equals_opencv(fmt, size) -> None:
    rng = np.random.default_rng(sum(size))
    frame = _frame(fmt, *size, rng)
    rgb = cv2.cvtColor(frame, TO_RGB[fmt])
    np.testing.assert_array_equal(_native.convert_frame(frame, fmt, "rgb"), rgb)
    np.testing.assert_array_equal(_native.convert_frame(frame, fmt, "bgr"), rgb[..., ::-1])
    rgba = _native.convert_frame(frame, fmt, "rgba")
    np.testing.assert_array_equal(rgba[..., :3], rgb)
    alpha = frame[..., 3] if fmt.endswith("a") else np.full(size, 255, np.uint8)
    np.testing.assert_array_equal(rgba[..., 3], alpha)
    np.testing.assert_array_equal(_native.convert_frame(frame, fmt, "bgra")[..., 3], alpha)


def test_conversion_errors() -> None:
    with pytest.raises(InvalidInputError, match="even"):
        _native.convert_frame(np.zeros((9, 5), np.uint8), "nv12")
    with pytest.raises(InvalidInputError, match="output must be"):
        _native.convert_frame(np.zeros((6, 4), np.uint8), "nv12", "i420")
    with pytest.raises(InvalidInputError, match="format must be"):
        _native.convert_frame(np.zeros((4, 4, 3), np.uint8), "yuyv")


@pytest.mark.parametrize("fmt", ["bgra", "rgba"])
def test_packed_alpha_frames_keep_known_pixels_and_alpha(tiny_onnx, fmt) -> None:
    rng = np.random.default_rng(1)
    inp = _native.Inpainter(str(tiny_onnx), strategy="crop", model_size=64, crop_margin=16)
    frame = _frame(fmt, 96, 128, rng)
    hole = make_mask("boxes", (96, 128), 2)
    out = inp.run_frame(frame, hole, format=fmt, out_format=fmt)
    np.testing.assert_array_equal(out[~hole], frame[~hole])
    np.testing.assert_array_equal(out[..., 3], frame[..., 3])
    bgr = fmt == "bgra"
    np.testing.assert_array_equal(out[..., :3], inp.run(np.ascontiguousarray(frame[..., :3]),
                                                        hole, bgr=bgr))
    other = "rgba" if bgr else "bgra"
    swapped = inp.run_frame(frame, inp.prepare_mask(hole), format=fmt, out_format=other)
    np.testing.assert_array_equal(swapped[..., [2, 1, 0, 3]], out)


@pytest.mark.parametrize("fmt", ["nv12", "i420"])
def test_yuv_frames_fill_the_decoded_image(tiny_onnx, fmt) -> None:
    rng = np.random.default_rng(2)
    inp = _native.Inpainter(str(tiny_onnx), strategy="crop", model_size=64, crop_margin=16)
    frame = _frame(fmt, 96, 128, rng)
    hole = make_mask("irregular", (96, 128), 5)
    rgb = cv2.cvtColor(frame, TO_RGB[fmt])
    out = inp.run_frame(frame, hole, format=fmt, out_format="rgb")
    np.testing.assert_array_equal(out, inp.run(rgb, hole))
    np.testing.assert_array_equal(out[~hole], rgb[~hole])
    bgra = inp.run_frame(frame, inp.prepare_mask(hole), format=fmt, out_format="bgra")
    np.testing.assert_array_equal(bgra[..., 2::-1], out)
    assert (bgra[..., 3] == 255).all()
