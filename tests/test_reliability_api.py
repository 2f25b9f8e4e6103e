"""The Python API under bad input: typed errors from rmnet_sdk.errors, never a silent default,
never a wrong output. Each test reproduces one defect of the bad-input campaign (issue 17)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo

import rmnet_sdk
from rmnet_sdk import Inpainter
from rmnet_sdk.backends.base import Backend
from rmnet_sdk.errors import ImageReadError, InvalidInputError, ModelError
from rmnet_sdk.imaging import read_image, write_image
from rmnet_sdk.masks import read_mask, write_mask
from rmnet_sdk.metadata import ModelMetadata


def _case(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    hole = np.zeros((h, w), bool)
    hole[10:30, 12:40] = True
    return synthetic_photo(np.random.default_rng(0), h, w), hole


# -- 5, 13, 14: arguments ------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"crop_margin": -1}, {"crop_margin": 2.5},
    {"threads": -1}, {"threads": 0}, {"threads": 1.5}, {"threads": "2"}, {"threads": True},
    {"resolution": 0}, {"resolution": -16}, {"resolution": 64.0},
    {"strategy": ""}, {"max_original_pixels": 0},
])
def test_bad_constructor_arguments_are_typed_errors(toy_onnx: Path, kwargs) -> None:
    with pytest.raises(InvalidInputError, match=next(iter(kwargs))):
        Inpainter(toy_onnx, backend="onnxruntime", **kwargs)


def test_valid_numbers_still_accepted(toy_onnx: Path) -> None:
    inp = Inpainter(toy_onnx, backend="onnxruntime", threads=np.int64(1), crop_margin=0,
                    resolution=32)
    assert inp.crop_margin == 0 and inp.resolution == 32


def test_empty_strategy_in_run_is_refused(toy_onnx: Path) -> None:
    img, hole = _case()
    with pytest.raises(InvalidInputError, match="strategy"):
        Inpainter(toy_onnx, backend="onnxruntime").run(img, hole, strategy="")


def test_ragged_masks_are_typed_errors(toy_onnx: Path) -> None:
    inp = Inpainter(toy_onnx, backend="onnxruntime")
    img, hole = _case()
    with pytest.raises(InvalidInputError, match=r"mask\[1\] is not a rectangular array"):
        inp.run([img, img], [hole, [[0, 1], [0]]])
    with pytest.raises(InvalidInputError, match="mask is not a rectangular array"):
        inp.run(img, [[0, 1], [0]])
    with pytest.raises(InvalidInputError, match=r"image\[0\] is not a rectangular array"):
        inp.run([[[0, 1], [0]]], hole)


# -- 8: the prediction is checked for every backend ----------------------------------------------

class _Fake(Backend):
    name = "fake"

    def __init__(self, make) -> None:
        super().__init__(ModelMetadata(resolution=32))
        self.make = make

    def infer(self, image, mask):
        return self.make(image)


def _with_backend(backend: Backend) -> Inpainter:
    inp = Inpainter.__new__(Inpainter)  # no model file: the backend is injected
    inp.backend, inp.resolution, inp.strategy, inp.crop_margin = backend, 32, "resize", 16
    return inp


@pytest.mark.parametrize("make, match", [
    (lambda x: np.zeros((x.shape[0], 1, *x.shape[2:]), np.float32), r"shape \(1, 1, 32, 32\)"),
    (lambda x: np.zeros((x.shape[0], 3, x.shape[2] // 2, x.shape[3] // 2), np.float32),
     r"shape \(1, 3, 16, 16\)"),
    (lambda x: np.full(x.shape, np.nan, np.float32), "3072 non-finite"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 5, np.inf, 0).astype(np.float32),
     "1 non-finite"),
    (lambda x: np.zeros(x.shape, np.uint8), "uint8"),
    (lambda x: list(x), "shape None"),
])
def test_wrong_predictions_are_model_errors(make, match) -> None:
    img, hole = _case()
    inp = _with_backend(_Fake(make))
    with pytest.raises(ModelError, match=match):
        inp.run(img, hole)


def test_prediction_check_covers_direct_infer_calls() -> None:
    fake = _Fake(lambda x: np.full(x.shape, np.nan, np.float32))
    x = np.zeros((2, 3, 16, 16), np.float32)
    with pytest.raises(ModelError, match="non-finite"):
        fake.infer(x, np.zeros((2, 1, 16, 16), np.float32))
    ok = _Fake(lambda x: np.zeros(x.shape, np.float32))
    assert ok.infer(x, np.zeros((2, 1, 16, 16), np.float32)).shape == (2, 3, 16, 16)


# -- 10: decompression bombs ---------------------------------------------------------------------

def test_pixel_limit_is_checked_before_decoding(tmp_path: Path, monkeypatch) -> None:
    img, hole = _case(40, 50)
    write_image(tmp_path / "p.png", img)
    write_mask(tmp_path / "m.png", hole)
    with pytest.raises(ImageReadError, match=r"40x50 \(HxW\).*max_pixels"):
        read_image(tmp_path / "p.png", max_pixels=1999)
    with pytest.raises(ImageReadError, match="mask"):
        read_mask(tmp_path / "m.png", max_pixels=1999)
    assert read_image(tmp_path / "p.png", max_pixels=2000).shape == (40, 50, 3)
    monkeypatch.setenv("RMNET_MAX_IMAGE_PIXELS", "1999")
    with pytest.raises(ImageReadError, match="RMNET_MAX_IMAGE_PIXELS"):
        read_image(tmp_path / "p.png")
    monkeypatch.setenv("RMNET_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(InvalidInputError, match="RMNET_MAX_IMAGE_PIXELS"):
        read_image(tmp_path / "p.png")


def test_pillow_bomb_error_is_typed(tmp_path: Path, monkeypatch) -> None:
    from PIL import Image

    write_image(tmp_path / "p.png", _case(40, 50)[0])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # Pillow refuses above 2x this
    with pytest.raises(ImageReadError, match="decompression-bomb"):
        read_image(tmp_path / "p.png")


# -- 12: RGBA to JPEG ----------------------------------------------------------------------------

def test_write_rgba_as_jpeg_drops_alpha_with_a_warning(tmp_path: Path, caplog) -> None:
    rgba = np.dstack([_case()[0], np.full((48, 64), 128, np.uint8)])
    with caplog.at_level(logging.WARNING, logger="rmnet_sdk"):
        write_image(tmp_path / "o.jpg", rgba)
    assert "alpha" in caplog.text
    assert read_image(tmp_path / "o.jpg", keep_alpha=True).shape == (48, 64, 3)


# -- 18: the full-resolution pixel budget --------------------------------------------------------

def test_original_over_budget_is_refused_and_auto_resizes(toy_onnx: Path, caplog) -> None:
    img, hole = _case(48, 64)  # padded 48x64 = 3072 px
    inp = Inpainter(toy_onnx, backend="onnxruntime", max_original_pixels=3000)
    with pytest.raises(InvalidInputError, match="max_original_pixels.*--max-original-pixels"):
        inp.run(img, hole, strategy="original")
    with caplog.at_level(logging.WARNING, logger="rmnet_sdk"):
        assert inp.resolve_strategy(48, 64, "auto") == "resize"
    assert "budget" in caplog.text
    out = inp.run(img, hole)  # auto: runs resized
    np.testing.assert_array_equal(out[~hole], img[~hole])
    roomy = Inpainter(toy_onnx, backend="onnxruntime", max_original_pixels=3072)
    assert roomy.resolve_strategy(48, 64, "auto") == "original"
    assert roomy.run(img, hole, strategy="original").shape == img.shape


def test_default_budget_is_documented_value() -> None:
    from rmnet_sdk.inpainter import ORIGINAL_MAX_PIXELS

    assert Inpainter.max_original_pixels == ORIGINAL_MAX_PIXELS == 2048 * 2048


# -- first use: packaging ------------------------------------------------------------------------

def test_package_is_typed_and_versioned_once() -> None:
    from importlib.metadata import version

    root = Path(rmnet_sdk.__file__).parent
    assert (root / "py.typed").is_file()
    assert rmnet_sdk.__version__ == version("rmnet-sdk")
    pyproject = (root.parent / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and "\nversion =" not in pyproject
    assert 'license = { text = "MIT" }' in pyproject
    assert (root.parent / "LICENSE").read_text().startswith("MIT License")
    assert "## [" + rmnet_sdk.__version__ + "]" in (root.parent / "CHANGELOG.md").read_text()


def test_inpainter_is_visible_to_static_analysis() -> None:
    import ast

    tree = ast.parse(Path(rmnet_sdk.__file__).read_text())
    static = [n for n in ast.walk(tree) if isinstance(n, ast.If)
              and getattr(n.test, "id", "") == "TYPE_CHECKING"]
    names = {a.name for block in static for node in block.body
             if isinstance(node, ast.ImportFrom) for a in node.names}
    assert {"Inpainter", "available_backends"} <= names
    assert rmnet_sdk.Inpainter is Inpainter
