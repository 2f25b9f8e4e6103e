"""Shared fixtures: small synthetic data made by the tests themselves."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"


def synthetic_photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth, structured RGB image (gradients + discs + bars): learnable, not noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, 0.5 + 0.5 * np.sin((xx + yy) / (7 + 5 * rng.random()))], -1)
    img = base * rng.uniform(0.3, 1.0, 3)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(4, max(5, h / 4))
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.random(3)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)



@pytest.fixture(autouse=True)
def _isolated_logging():
    """Every CLI entry point configures logging for its process (``basicConfig``, or a handler on
    the ``rmnet_sdk`` logger); in one pytest process those handlers would outlive the test and
    write into its closed capture stream. Restore the loggers' handlers, levels and propagation
    after each test."""
    loggers = [logging.getLogger(), logging.getLogger("rmnet_sdk"), logging.getLogger("tf2onnx")]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate

@pytest.fixture(scope="session")
def tiny_image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve 80x96 synthetic photos as PNG in a nested folder."""
    from rmnet_sdk.imaging import write_image

    root = tmp_path_factory.mktemp("tiny_photos")
    rng = np.random.default_rng(1234)
    for i in range(12):
        sub = root / ("a" if i % 2 else "b")
        write_image(sub / f"img{i:02d}.png", synthetic_photo(rng, 80, 96))
    return root


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """The shared real-photo corpus (present on dev machines and in CI)."""
    if not PHOTOS.is_dir():
        pytest.skip(f"photo corpus not found at {PHOTOS}")
    return PHOTOS


def make_toy_onnx(path: Path, *, resolution: int = 64, seed: int = 0) -> Path:
    """A tiny model with the R-MNet ONNX contract (image, mask -> prediction; dynamic N/H/W):
    ``tanh(conv3x3(image * (1 - mask)))``. Fast, deterministic, and needs no TensorFlow."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from rmnet_sdk.metadata import ModelMetadata

    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.3, (3, 3, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, (3,)).astype(np.float32)
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["valid"]),
        helper.make_node("Mul", ["image", "valid"], ["masked"]),
        helper.make_node("Conv", ["masked", "W", "B"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["conv"], ["prediction"]),
    ]
    graph = helper.make_graph(
        nodes, "toy_rmnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B"),
         numpy_helper.from_array(np.array(1.0, np.float32), "one")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in ModelMetadata(name="toy", resolution=resolution).to_strings().items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def toy_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy_onnx(tmp_path_factory.mktemp("toy") / "toy.onnx")


def make_pooling_inception(path: Path) -> Path:
    """A stand-in 'Inception' ONNX (global average pool -> N x 3 features) for FID code paths."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["x"], ["p"]),
         helper.make_node("Flatten", ["p"], ["features"])],
        "tiny_inception",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def require_modules(*names: str, what: str, install: str) -> list[object]:
    """The modules ``names``, or skip; in CI (``CI`` set) a missing one fails instead, because
    CI installs everything and a silent skip there would hide a broken install."""
    import importlib

    try:
        return [importlib.import_module(name) for name in names]
    except ImportError as e:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"CI must install {install} for {what}: {e}")
        pytest.skip(f"{what} needs {install} ({e})")


def require_rtx() -> object:
    """tensorrt_rtx, or skip (a failure in CI)."""
    return require_modules("tensorrt_rtx", what="the engine build test",
                           install="tensorrt-rtx-cu13")[0]


def require_native(*features: str) -> Any:
    """``rmnet_sdk._native``, or skip the module; ``features``: attributes a current build has.

    In CI (``CI`` set) the extension is always built, so a missing or outdated one is an error
    there rather than a skip."""
    try:
        from rmnet_sdk import _native
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("rmnet_sdk._native is not built: pip install --no-build-isolation -e .",
                    allow_module_level=True)
    missing = [f for f in features if not hasattr(_native, f)]
    if missing:
        if os.environ.get("CI"):
            raise ImportError(f"rmnet_sdk._native lacks {missing}")
        pytest.skip(f"rmnet_sdk._native predates {missing}: rebuild it "
                    "(pip install --no-build-isolation -e .)", allow_module_level=True)
    return _native


def tiny_onnx_module() -> Any:
    """``tests/cpp/tiny_onnx.py``, the tiny model the C++ tests share (no TensorFlow needed)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("rmnet_tiny_onnx", REPO / "tests" / "cpp" / "tiny_onnx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model as an ONNX file, for the native runtime (skips without its CPU backend)."""
    if not require_native().WITH_OPENCV:
        pytest.skip("rmnet_sdk._native was built without OpenCV (no CPU backend)")
    return tiny_onnx_module().build(tmp_path_factory.mktemp("native") / "tiny.onnx")
