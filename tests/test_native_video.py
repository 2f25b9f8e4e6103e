"""The C++ crop strategy and prepared masks (rmnet::holeBoxes, Inpainter::prepareMask /
runPrepared) against the Python crop path."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_native

from rmnet_sdk import Inpainter
from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.inpainter import hole_boxes
from rmnet_sdk.mask_generators import make_mask

_native = require_native("hole_boxes")


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
