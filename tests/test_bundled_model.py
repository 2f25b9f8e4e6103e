"""The bundled default model: present, consistent with its card, and doing real inpainting.

These tests run the shipped files (no training, no TensorFlow): the package must work offline
with ``Inpainter()`` and no arguments.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rmnet_sdk import Inpainter
from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.imaging import read_image
from rmnet_sdk.masks import read_mask
from rmnet_sdk.metrics import psnr
from rmnet_sdk.models import BUNDLED, MODELS_DIR, bundled_model, default_precision

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample.jpg"
SAMPLE_MASK = ROOT / "examples" / "sample_mask.png"


@pytest.fixture(scope="module")
def bundle() -> dict:
    return json.loads((MODELS_DIR / "bundle.json").read_text())


def test_every_bundled_file_ships_and_matches_its_card(bundle: dict) -> None:
    card = (MODELS_DIR / "MODEL_CARD.md").read_text()
    total = 0
    for precision, name in BUNDLED.items():
        path = bundled_model(precision)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert bundle["files"][name]["sha256"] == digest, f"{name} differs from bundle.json"
        assert digest[:16] in card, f"MODEL_CARD.md does not describe the shipped {name}"
        total += path.stat().st_size
    assert total < 50e6  # the package stays lean
    assert f"rmnet-default {bundle['version']}" in card


def test_bundled_metadata_and_precisions() -> None:
    from rmnet_sdk.export.onnx import load_onnx, onnx_precision

    for precision in ("fp32", "fp16"):
        assert onnx_precision(load_onnx(bundled_model(precision), check=False)) == precision
    inp = Inpainter(precision="fp32", backend="onnxruntime")
    meta = inp.metadata
    assert meta.name == "rmnet-default" and meta.resolution == 256 and meta.mask_polarity == "1=hole"
    assert meta.training_steps > 0 and meta.config_hash


def test_default_precision_per_backend() -> None:
    assert default_precision("onnxruntime") == "int8"
    assert default_precision("native") == "fp32"  # OpenCV DNN cannot parse QDQ
    assert default_precision("onnxruntime-cuda") == "fp32"
    assert Inpainter(backend="onnxruntime").model_path.name == BUNDLED["int8"]
    assert Inpainter(backend="onnxruntime", precision="fp32").model_path.name == BUNDLED["fp32"]
    with pytest.raises(InvalidInputError, match="precision"):
        Inpainter(bundled_model("fp32"), precision="int8")
    with pytest.raises(InvalidInputError, match="precision"):
        Inpainter(precision="bf16")


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return read_image(SAMPLE), read_mask(SAMPLE_MASK)


def test_default_inpainter_fills_the_sample(sample: tuple[np.ndarray, np.ndarray]) -> None:
    """Known pixels exact; the fill is far closer to the photo than a flat mean-colour fill."""
    image, hole = sample
    out = Inpainter().run(image, hole)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~hole], image[~hole])
    flat = image.copy()
    flat[hole] = image[~hole].mean(axis=0).round().astype(np.uint8)
    model_psnr = psnr(image[hole], out[hole])
    assert model_psnr > psnr(image[hole], flat[hole]) + 1.0


def test_int8_and_fp16_agree_with_fp32(sample: tuple[np.ndarray, np.ndarray]) -> None:
    image, hole = sample
    ref = Inpainter(precision="fp32", backend="onnxruntime").run(image, hole)
    for precision, floor in (("int8", 30.0), ("fp16", 45.0)):
        out = Inpainter(precision=precision, backend="onnxruntime").run(image, hole)
        np.testing.assert_array_equal(out[~hole], image[~hole])
        assert psnr(ref[hole], out[hole]) > floor, precision
