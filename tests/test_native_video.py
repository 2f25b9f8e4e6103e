"""The C++ crop strategy and prepared masks (rmnet::holeBoxes, Inpainter::prepareMask /
runPrepared) against the Python crop path."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from rmnet_sdk import Inpainter
from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.inpainter import hole_boxes
from rmnet_sdk.masks import make_mask

try:
    from rmnet_sdk import _native
except ImportError:  # pragma: no cover - CI builds it
    if os.environ.get("CI"):
        raise
    pytest.skip("rmnet_sdk._native is not built: pip install --no-build-isolation -e .",
                allow_module_level=True)
if not hasattr(_native, "hole_boxes"):  # pragma: no cover - an extension built before them
    if os.environ.get("CI"):
        raise ImportError("rmnet_sdk._native lacks hole_boxes / prepare_mask")
    pytest.skip("rmnet_sdk._native predates the crop strategy: rebuild it "
                "(pip install --no-build-isolation -e .)", allow_module_level=True)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> Path:
    if not _native.WITH_OPENCV:
        pytest.skip("rmnet_sdk._native was built without OpenCV (no CPU backend)")
    spec = importlib.util.spec_from_file_location("rmnet_tiny_onnx", HERE / "cpp" / "tiny_onnx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(tmp_path_factory.mktemp("native_video") / "tiny.onnx")


@pytest.mark.parametrize("kind", ["strokes", "irregular", "boxes", "thin", "text"])
@pytest.mark.parametrize("shape", [(120, 160), (480, 640), (1080, 1920)], ids=str)
def test_hole_boxes_equal_the_python_reference(kind, shape) -> None:
    for seed in range(4):
        hole = make_mask(kind, shape, seed)
        for res, margin in ((64, 16), (256, 128)):
            assert _native.hole_boxes(hole, res, margin) == hole_boxes(hole, res, margin)


def test_prepared_mask_equals_crop_run_and_python(tiny_onnx) -> None:
    rng = np.random.default_rng(0)
    native = _native.Inpainter(str(tiny_onnx), strategy="crop", model_size=64, crop_margin=16)
    python = Inpainter(tiny_onnx, backend="onnxruntime", strategy="crop", resolution=64,
                       crop_margin=16)
    hole = make_mask("boxes", (240, 320), 3)
    prepared = native.prepare_mask(hole)
    assert prepared.boxes == hole_boxes(hole, 64, 16)
    assert (prepared.height, prepared.width, prepared.empty) == (240, 320, False)
    for _ in range(3):
        frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        out = native.run_prepared(frame, prepared, bgr=True)
        np.testing.assert_array_equal(out, native.run(frame, hole, bgr=True))
        np.testing.assert_array_equal(out[~hole], frame[~hole])
        # the C++ preprocess averages exactly where Python rounds to uint8 first: <= 2 LSB
        ref = python.run(frame, hole, color="bgr")
        assert np.abs(out.astype(int) - ref).max() <= 2
    with pytest.raises(InvalidInputError):
        native.run_prepared(np.zeros((100, 320, 3), np.uint8), prepared)
