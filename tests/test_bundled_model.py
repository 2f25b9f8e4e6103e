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


def test_bundled_model_is_the_prefill_residual_graph() -> None:
    """0.3 on: the pyramid prefill runs inside the shipped graph, untouched by INT8."""
    import onnx

    from rmnet_sdk.prefill import is_prefill_node

    meta = Inpainter(precision="fp32", backend="onnxruntime").metadata
    assert meta.prefill and meta.mask_channel
    int8 = onnx.load(str(bundled_model("int8")))
    prefill_convs = [n for n in int8.graph.node if n.op_type == "Conv" and is_prefill_node(n.name)]
    assert prefill_convs, "no prefill convolutions in the INT8 graph"
    quantised_inputs = {o for n in int8.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    assert not [n.name for n in prefill_convs if set(n.input) & quantised_inputs]


def test_bundled_fp16_builds_a_tensorrt_rtx_engine_ahead_of_time(tmp_path: Path) -> None:
    """The prefill graph parses and builds in TensorRT (RTX, sm86, no GPU needed)."""
    from conftest import require_rtx

    require_rtx()
    from rmnet_sdk.export.tensorrt import EngineRequest, build_engine

    engine = tmp_path / "bundled.engine"
    req = EngineRequest(profiles=("1x256x256:1x256x256:1x384x512",), targets=("sm86",),
                        flavour="tensorrt-rtx")
    sidecar = build_engine(bundled_model("fp16"), engine, req)
    assert engine.stat().st_size == sidecar["engine_bytes"] > 0
    assert sidecar["precision"] == "fp16" and sidecar["metadata"]["prefill"] is True
