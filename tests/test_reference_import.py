"""Import of the reference implementation's Keras 2 checkpoints (Jireh-Jam/R-MNet-Inpainting-keras).

The real ``.h5`` files cannot be downloaded here, so the tests rebuild the reference generator
in Keras 3 (same layer order, names and shapes, Keras 2 / TF 1 semantics where they differ from
Keras 3), give it random weights and BatchNorm statistics, and write its weights with ``h5py`` in
the two HDF5 layouts Keras 2 writes (``save_weights`` and ``model.save``). The import must then
reproduce the rebuilt reference's output.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
h5py = pytest.importorskip("h5py")

from rmnet_sdk.training.model import build_generator, upsample2x  # noqa: E402

EXACT = 1e-5


def _tf1_resize_bilinear(x: np.ndarray) -> np.ndarray:
    """Keras 2's ``UpSampling2D(interpolation='bilinear')`` on TF 1: no half-pixel centres."""
    h, w = x.shape[1:3]
    return tf.compat.v1.image.resize_bilinear(x, (2 * h, 2 * w), half_pixel_centers=False).numpy()


@pytest.mark.parametrize("shape", [(2, 5, 7, 3), (1, 4, 4, 6), (1, 1, 3, 2)])
def test_asymmetric_upsampling_is_tf1_resize_bilinear(shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    inp = keras.Input(shape[1:])
    asymmetric = keras.Model(inp, upsample2x(inp, "asymmetric", name="up"))
    half_pixel = keras.Model(inp, upsample2x(inp, "bilinear", name="up"))
    expected = _tf1_resize_bilinear(x)
    assert np.abs(asymmetric.predict(x, verbose=0) - expected).max() <= EXACT
    # Keras 3's own bilinear is a different function: the option is needed
    assert np.abs(half_pixel.predict(x, verbose=0) - expected).max() > 0.1


def test_generator_upsampling_option() -> None:
    with pytest.raises(ValueError, match="upsampling"):
        build_generator(8, upsampling="bicubic")
    names = {layer.name for layer in build_generator(8, upsampling="asymmetric").layers}
    assert {"dec1_up", "dec1_up_mean", "dec4_up_mean"} <= names
    # the default graph keeps its layer names and weights
    default = build_generator(8)
    assert "dec1_up_mean" not in {layer.name for layer in default.layers}
    assert len(default.weights) == len(build_generator(8, upsampling="asymmetric").weights)
