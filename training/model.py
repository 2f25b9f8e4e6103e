"""R-MNet networks in Keras 3: the generator, the Wasserstein critic and the reverse-mask operator.

Only stock layers are used (no ``Lambda``) so models load with Keras ``safe_mode``. Tensors are
NHWC, images in [-1, 1], masks in {0, 1} with 1 = hole (DESIGN.md).

Decoder choice: the original code uses 3x3 stride-1 ``Conv2DTranspose`` after each bilinear
upsampling. A stride-1 transposed conv is exactly a plain conv with a flipped, channel-swapped
kernel, so the function class is identical; we build the decoder with ``Conv2D`` because ONNX
Runtime runs it 25-30 % faster and OpenCV DNN several times faster (research/feasibility.md §2, §8).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from rmnet_sdk.prefill import LAYER_NAME as PREFILL_LAYER

from .layers import PyramidPrefill, ResidualPrediction

GENERATOR_NAME = "rmnet_generator"
CRITIC_NAME = "rmnet_critic"
UPSAMPLING_MODES = ("bilinear", "asymmetric")


def build_generator(gf: int = 64, *, mask_channel: bool = False, prefill: bool = False,
                    upsampling: str = "bilinear", name: str = GENERATOR_NAME) -> keras.Model:
    """The R-MNet generator: ``(image, mask) -> prediction`` (in [-1, 1], any HxW % 16).

    Paper configuration (``prefill=False``): the network sees only the masked image
    ``I_M = I * M`` with ``M = 1 - mask`` (and, when ``mask_channel`` is set, the hole mask as a
    4th channel) and its tanh output is the prediction.

    ``prefill=True`` (model 0.3): the holes are first filled by the pyramid prefill
    (:class:`~.layers.PyramidPrefill`), the network sees that image plus the mask channel, and
    its last convolution, initialised to zero, predicts a correction added to the prefill
    (:class:`~.layers.ResidualPrediction`). An untrained generator is the prefill; training only
    has to learn what the prefill gets wrong. Compositing happens outside in both cases.

    ``upsampling`` is the decoder's x2 bilinear: ``"bilinear"`` (Keras 3, half-pixel centres) or
    ``"asymmetric"`` (Keras 2 / TF 1 ``resize_bilinear``, which the reference implementation's
    checkpoints were trained with; see :func:`upsample2x`).
    """
    if upsampling not in UPSAMPLING_MODES:
        raise ValueError(f"upsampling must be one of {UPSAMPLING_MODES}, got {upsampling!r}")
    image = keras.Input((None, None, 3), name="image")
    mask = keras.Input((None, None, 1), name="mask")
    if prefill:
        filled = PyramidPrefill(name=PREFILL_LAYER)(image, mask)
        x = layers.Concatenate(name="with_mask")([filled, mask])
    else:
        valid = layers.Rescaling(-1.0, offset=1.0, name="valid_mask")(mask)  # M = 1 - hole
        x = layers.Multiply(name="masked_image")([image, valid])
        if mask_channel:
            x = layers.Concatenate(name="with_mask")([x, mask])

    widths = (gf, gf, 2 * gf, 4 * gf, 8 * gf)
    for i, filters in enumerate(widths, start=1):
        x = layers.Conv2D(filters, 5, dilation_rate=2, padding="same", name=f"enc{i}_conv")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"enc{i}_lrelu")(x)
        x = layers.BatchNormalization(momentum=0.8, name=f"enc{i}_bn")(x)
        if i < len(widths):
            x = layers.MaxPooling2D(2, name=f"enc{i}_pool")(x)
        else:
            # an explicit seed makes Keras draw dropout masks from the layer's own (checkpointed)
            # SeedGenerator on every backend; with seed=None the torch backend uses torch's
            # global RNG, which a checkpoint does not hold, and resume would not be exact
            x = layers.Dropout(0.5, seed=1, name=f"enc{i}_dropout")(x)

    for i, filters in enumerate((8 * gf, 4 * gf, 2 * gf, gf), start=1):
        x = upsample2x(x, upsampling, name=f"dec{i}_up")
        x = layers.Conv2D(filters, 3, padding="same", name=f"dec{i}_conv")(x)
        x = layers.ReLU(name=f"dec{i}_relu")(x)
        x = layers.BatchNormalization(momentum=0.8, name=f"dec{i}_bn")(x)

    if prefill:
        correction = layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros",
                                   name="correction")(x)
        prediction = ResidualPrediction(name="prediction")(filled, correction)
    else:
        prediction = layers.Conv2D(3, 3, padding="same", activation="tanh", name="prediction")(x)
    return keras.Model([image, mask], prediction, name=name)


def upsample2x(x: Any, mode: str, *, name: str) -> Any:
    """x2 bilinear upsampling, ``"bilinear"`` (half-pixel centres) or ``"asymmetric"``.

    TF 1's ``resize_bilinear`` (no half-pixel centres) samples input pixel ``i / 2``: even outputs
    copy a pixel, odd ones average two neighbours, and the last row and column repeat the edge.
    Nearest x2 followed by a 2x2 stride-1 mean over the part of the window inside the image
    computes exactly that with stock layers. The nearest x2 is ``interpolation="area"`` (equal to
    nearest for an integer factor): Keras's ``"nearest"`` repeats rows with reshapes that pin the
    traced size in ONNX, while ``"area"`` exports as a ``Resize`` with constant scales. The mean's
    "same" padding is not counted on the TensorFlow backend and in ONNX ``AveragePool``; Keras's
    torch backend pads an even window with zeros that it counts, so other backends are refused.
    """
    if mode == "bilinear":
        return layers.UpSampling2D(2, interpolation="bilinear", name=name)(x)
    if keras.backend.backend() != "tensorflow":
        raise ValueError("upsampling='asymmetric' needs the TensorFlow backend")
    x = layers.UpSampling2D(2, interpolation="area", name=name)(x)
    return layers.AveragePooling2D(2, strides=1, padding="same", name=f"{name}_mean")(x)


def build_critic(image_size: int, df: int = 64, *, name: str = CRITIC_NAME) -> keras.Model:
    """The Wasserstein critic of the original code: four 3x3 stride-2 convs, then ``Dense(1)``.

    Its ``Flatten`` ties it to the training resolution, which is fine: it never leaves training.
    """
    inp = keras.Input((image_size, image_size, 3), name="image")
    x = inp
    for i, filters in enumerate((df, 2 * df, 4 * df, 8 * df), start=1):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", name=f"c{i}_conv")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"c{i}_lrelu")(x)
        x = layers.BatchNormalization(momentum=0.8, name=f"c{i}_bn")(x)
        x = layers.Dropout(0.25, seed=100 + i, name=f"c{i}_dropout")(x)  # see the generator
    x = layers.Flatten(name="flatten")(x)
    score = layers.Dense(1, name="score")(x)
    return keras.Model(inp, score, name=name)


def reverse_mask(hole: Any) -> Any:
    """The paper's reverse mask ``M_r = 1 - M``: with our polarity it *is* the hole mask."""
    return hole


def composite(image: Any, prediction: Any, hole: Any) -> Any:
    """``I_out = I * M + I_pred * M_r``: known pixels come from the input, holes from the net."""
    m_r = reverse_mask(hole)
    return image * (1.0 - m_r) + prediction * m_r


def clip_weights(model: keras.Model, clip_value: float) -> None:
    """WGAN Lipschitz constraint: clip every trainable weight of the critic to ``±clip_value``."""
    for v in model.trainable_variables:
        v.assign(ops.clip(v, -clip_value, clip_value))


def count_params(model: keras.Model) -> int:
    return int(sum(int(ops.size(v)) for v in model.trainable_variables))
