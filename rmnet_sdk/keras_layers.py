"""Weight-free Keras layers of the prefill generator: the pyramid prefill and the residual output.

They are registered Keras classes (not ``Lambda``), so a saved generator loads with
``safe_mode``, and they use only ``keras.ops`` that every exporter maps to plain ops: dilated
convolutions with static padding, element-wise arithmetic and a clip. They live in the runtime
package because reading a ``.keras`` generator needs them (the ``keras`` backend, the ONNX
export), and neither should depend on the training code; :mod:`rmnet_sdk.keras_model` imports
this module before a ``.keras`` file is read, which registers them. Importing it needs Keras.

The registration names (package ``rmnet``, the class names) are what ``.keras`` files record:
changing them would make every saved generator unreadable.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

from .prefill import BINOMIAL_4, BINOMIAL_5, DEFAULT_SUPPORT, DILATED_LEVELS, EPS, HALVINGS

_PACKAGE = "rmnet"


# Clamps written with ReLU: max/min against a constant export as ONNX Max/Min with a constant
# input, which OpenCV DNN 4.6 (the C++ runtime's CPU backend on Debian 12) cannot import. The
# ReLU forms are the same functions.
def _at_least(x: Any, floor: float) -> Any:
    """``max(x, floor)``."""
    return ops.relu(x - floor) + floor


def _at_most_one(x: Any) -> Any:
    """``min(x, 1)``."""
    return x - ops.relu(x - 1.0)


def _diagonal_kernels(taps: np.ndarray, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertical ``(k,1,C,C)`` and horizontal ``(1,k,C,C)`` kernels that blur every channel on its
    own. A full convolution with a diagonal kernel, rather than a depthwise one: TensorFlow lowers
    dilated depthwise convolutions through space-to-batch reshapes that pin the traced size,
    while a dilated ``Conv`` exports as one node with static pads."""
    eye = np.eye(channels, dtype=np.float32)
    vertical = taps[:, None, None, None] * eye[None, None]
    horizontal = taps[None, :, None, None] * eye[None, None]
    return vertical, horizontal


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PyramidPrefill(layers.Layer):
    """``(image, hole) -> image with holes filled`` by push-pull over a Gaussian pyramid (see
    :mod:`rmnet_sdk.prefill`, the NumPy reference this layer is tested against). H and W must be
    multiples of 16, as the generator's own.

    Known pixels pass through exactly (``image * valid + fill * hole`` with a binary hole)."""

    def __init__(self, support: float = DEFAULT_SUPPORT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.support = float(support)
        self.upsample = layers.UpSampling2D(2, interpolation="bilinear", name="double")

    def build(self, image_shape: Any, hole_shape: Any = None) -> None:
        self.upsample.build(image_shape)  # stateless: building only marks it built
        self.built = True

    def call(self, image: Any, hole: Any) -> Any:
        # Colour and weight are separate tensors (exporters turn channel slices into
        # shape-reading nodes), and the weight is carried with as many channels as the colour
        # (tf2onnx rewrites the layout transposes of a 1-channel tensor into Reshapes that pin
        # the traced size).
        channels = int(image.shape[-1])
        k4 = [ops.convert_to_tensor(k, dtype=image.dtype) for k in _diagonal_kernels(BINOMIAL_4, channels)]
        k5 = [ops.convert_to_tensor(k, dtype=image.dtype) for k in _diagonal_kernels(BINOMIAL_5, channels)]

        def halve(x: Any) -> Any:  # even sizes: "same" pads one pixel on each side
            x = ops.conv(x, k4[0], strides=(2, 1), padding="same")
            return ops.conv(x, k4[1], strides=(1, 2), padding="same")

        def blur(x: Any, d: int) -> Any:
            x = ops.conv(x, k5[0], strides=1, padding="same", dilation_rate=(d, 1))
            return ops.conv(x, k5[1], strides=1, padding="same", dilation_rate=(1, d))

        # every element-wise op on tensors of one shape: OpenCV DNN 4.6 does not broadcast
        valid = ops.concatenate([1.0 - hole] * channels, axis=-1)
        colour, weight = image * valid, valid  # premultiplied colour and its weight
        levels = []
        for _ in range(HALVINGS):
            colour, weight = halve(colour), halve(weight)
            levels.append((colour, weight, True))
        for k in range(DILATED_LEVELS):
            colour, weight = blur(colour, 2 ** k), blur(weight, 2 ** k)
            levels.append((colour, weight, False))
        estimate, previous_halved = None, False
        for colour, weight, halved in reversed(levels):
            own = colour / _at_least(weight, EPS)
            if estimate is None:  # the coarsest level
                estimate, previous_halved = own, halved
                continue
            if previous_halved:
                estimate = self.upsample(estimate)
            alpha = _at_most_one(weight * (1.0 / self.support))
            estimate = alpha * own + (1.0 - alpha) * estimate
            previous_halved = halved
        estimate = self.upsample(estimate)
        return image * valid + estimate * (1.0 - valid)

    def compute_output_shape(self, image_shape: Any, hole_shape: Any = None) -> Any:
        return image_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "support": self.support}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResidualPrediction(layers.Layer):
    """``prefill + correction``, clipped to the model range [-1, 1] that the output contract
    promises. With the correction's last convolution initialised to zero, an untrained
    generator returns the prefill itself."""

    def call(self, prefill: Any, correction: Any) -> Any:
        x = prefill + correction
        return ops.relu(x + 1.0) - ops.relu(x - 1.0) - 1.0  # clip to [-1, 1] (see _at_least)

    def compute_output_shape(self, prefill_shape: Any, correction_shape: Any = None) -> Any:
        return prefill_shape
