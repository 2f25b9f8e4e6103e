"""R-MNet losses in ``keras.ops`` (backend-neutral): perceptual, reverse-mask, Wasserstein.

- ``L_p  = MSE(φ(I_pred), φ(I))``                      perceptual, VGG19 ``block3_conv3``
- ``L_rm = MSE(φ(I_pred ⊙ M_r), φ(I ⊙ M_r))``          the paper's eq. 4, on the hole region
- ``L_G  = (1-λ) L_p + λ L_rm + w_adv · (-D(I_out)) [+ pixel L1 terms]``

The original code applies the reverse-mask loss to the *known* region, where output equals input,
so it is identically zero; we apply it to the holes as the paper's equation says.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
from keras import ops

from rmnet_sdk.errors import WeightsNotFoundError

VGG_LAYER = "block3_conv3"
VGG_NOTOP_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
# ImageNet channel means of VGG's "caffe" preprocessing, in BGR order.
_VGG_MEAN_BGR = (103.939, 116.779, 123.68)


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded weights: ``$KERAS_HOME/models`` (default ``~/.keras/models``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def resolve_vgg_weights(spec: str) -> str | None:
    """Turn the ``vgg_weights`` setting into a local file (or ``None`` for random init).

    ImageNet weights cannot be downloaded here, so "imagenet" means: the official file in the
    Keras cache. A missing file is an error that says where to put it; random features are only
    used when asked for explicitly.
    """
    if spec == "random":
        return None
    path = keras_cache_dir() / VGG_NOTOP_FILE if spec == "imagenet" else Path(spec).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(
            f"VGG19 weights not found at {path}. The perceptual loss needs VGG19 ImageNet weights "
            f"(include_top=False, '{VGG_NOTOP_FILE}'), which are not downloaded automatically. "
            f"Put the file in {keras_cache_dir()} (or set KERAS_HOME), pass its path as "
            f"vgg_weights=/path/to/{VGG_NOTOP_FILE} (--vgg-weights), or choose "
            f"vgg_weights='random' to train with randomly initialised VGG features (a documented "
            f"substitute: random deep features still carry image structure)."
        )
    return str(path)


def build_vgg_features(weights: str = "imagenet", *, seed: int = 0) -> keras.Model:
    """VGG19 up to ``block3_conv3``, frozen. ``weights``: "imagenet", a path, or "random"."""
    path = resolve_vgg_weights(weights)
    if path is None:
        keras.utils.set_random_seed(seed)  # random features must be the same on every resume
    vgg = keras.applications.VGG19(include_top=False, weights=path, input_shape=(None, None, 3))
    features = keras.Model(vgg.input, vgg.get_layer(VGG_LAYER).output, name="vgg19_block3_conv3")
    features.trainable = False
    return features


def vgg_preprocess(x: Any) -> Any:
    """[-1, 1] RGB -> VGG's own input: 0..255 BGR minus the ImageNet means ("caffe" mode)."""
    x = (x + 1.0) * 127.5
    x = ops.flip(x, axis=-1)
    return x - ops.convert_to_tensor(_VGG_MEAN_BGR, dtype=x.dtype)


def mse(a: Any, b: Any) -> Any:
    return ops.mean(ops.square(a - b))


def perceptual_and_reverse_mask_losses(vgg: keras.Model, image: Any, prediction: Any,
                                       hole: Any, preprocess: Callable[[Any], Any] = vgg_preprocess,
                                       ) -> tuple[Any, Any]:
    """``(L_p, L_rm)`` from one batched VGG pass over the four inputs (cheaper than four).
    ``vgg`` may be another frozen feature network with its own ``preprocess``
    (:mod:`.features`)."""
    m_r = hole  # reverse mask M_r = 1 - M = hole
    batch = ops.shape(image)[0]
    stacked = ops.concatenate([prediction, prediction * m_r, image, image * m_r], axis=0)
    feats = vgg(preprocess(stacked), training=False)
    f_pred, f_pred_rm = feats[:batch], feats[batch:2 * batch]
    f_img, f_img_rm = ops.stop_gradient(feats[2 * batch:3 * batch]), ops.stop_gradient(feats[3 * batch:])
    return mse(f_pred, f_img), mse(f_pred_rm, f_img_rm)


def masked_l1(a: Any, b: Any, weight_mask: Any) -> Any:
    """Mean absolute error over the pixels selected by ``weight_mask`` (normalised by its area)."""
    num = ops.sum(ops.abs(a - b) * weight_mask)
    den = ops.sum(weight_mask) * ops.cast(ops.shape(a)[-1], a.dtype) + 1e-6
    return num / den


def ssim_map(a: Any, b: Any) -> Any:
    """Per-pixel, per-channel SSIM of NHWC images in [-1, 1], with ``rmnet_sdk.metrics``'s
    settings: Gaussian window, K1 0.01, K2 0.03, symmetric borders.

    SSIM is not shift-invariant (its luminance term uses the means themselves), so the images go
    back to [0, 1] first: the value then equals the metric's on 0..255 images."""
    a = (a + 1.0) * 0.5
    b = (b + 1.0) * 0.5
    from rmnet_sdk.metrics import _K1, _K2, _KERNEL  # the reported metric's window and constants

    k = _KERNEL.astype("float32").reshape(-1)
    r = k.shape[0] // 2
    channels = a.shape[-1]
    kv = ops.cast(k.reshape(-1, 1, 1, 1).repeat(channels, axis=2), a.dtype)
    kh = ops.cast(k.reshape(1, -1, 1, 1).repeat(channels, axis=2), a.dtype)

    def blur(x: Any) -> Any:
        # (Keras's torch backend pads "symmetric" as "replicate": the image border differs)
        x = ops.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="symmetric")
        x = ops.depthwise_conv(x, kv, strides=1, padding="valid")
        return ops.depthwise_conv(x, kh, strides=1, padding="valid")

    c1, c2 = _K1 ** 2, _K2 ** 2  # data range 1
    ux, uy = blur(a), blur(b)
    vx = blur(a * a) - ux * ux
    vy = blur(b * b) - uy * uy
    vxy = blur(a * b) - ux * uy
    return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))


def hole_ssim_loss(image: Any, output: Any, hole: Any) -> Any:
    """``1 - mean SSIM over the hole pixels`` of the composited output: the reported
    ``ssim_hole`` metric, as a loss (Zhao et al. 2017 pair SSIM with L1 for restoration)."""
    s = ssim_map(output, image)
    weight = ops.broadcast_to(hole, ops.shape(s))
    return 1.0 - ops.sum(s * weight) / (ops.sum(weight) + 1e-6)


def wasserstein_critic_loss(real_scores: Any, fake_scores: Any) -> Any:
    """The critic minimises ``E[D(fake)] - E[D(real)]``."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def adversarial_generator_loss(fake_scores: Any) -> Any:
    """The generator minimises ``-E[D(I_out)]``."""
    return -ops.mean(fake_scores)
