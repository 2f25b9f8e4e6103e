"""ONNX Runtime vs Keras through ``Inpainter.run``: the exported model is the trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from rmnet_sdk import Inpainter  # noqa: E402
from rmnet_sdk.mask_generators import make_mask  # noqa: E402


@pytest.fixture(scope="module")
def model_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import keras

    from rmnet_sdk.export import export_onnx
    from rmnet_sdk.metadata import ModelMetadata
    from rmnet_sdk.training.checkpoint import save_generator
    from rmnet_sdk.training.model import build_generator

    keras.utils.set_random_seed(7)
    G = build_generator(8, mask_channel=True)
    rng = np.random.default_rng(0)
    for layer in G.layers:  # non-trivial BN statistics, as after training
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape))
    root = tmp_path_factory.mktemp("pair")
    keras_path = save_generator(G, root / "g.keras",
                                ModelMetadata(resolution=128, gf=8, mask_channel=True))
    export_onnx(keras_path, root / "g.onnx")
    return keras_path, root / "g.onnx"


@pytest.mark.parametrize("strategy, size", [("resize", (100, 77)), ("original", (96, 160)),
                                            ("crop", (300, 420))])
def test_onnxruntime_matches_keras(model_pair, strategy: str, size) -> None:
    keras_path, onnx_path = model_pair
    img = synthetic_photo(np.random.default_rng(1), *size)
    hole = make_mask("mixed", size, 3)
    a = Inpainter(keras_path, backend="keras").run(img, hole, strategy=strategy)
    b = Inpainter(onnx_path, backend="onnxruntime").run(img, hole, strategy=strategy)
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() <= 1  # float rounding may flip a uint8 rounding at .5
    assert (diff == 0).mean() > 0.999
    np.testing.assert_array_equal(a[~hole], img[~hole])


def test_auto_backend_for_keras_file(model_pair) -> None:
    keras_path, _ = model_pair
    inp = Inpainter(keras_path)
    assert inp.backend.name == "keras" and inp.resolution == 128
