"""Pyramid prefill: fill holes by normalised convolution over a Gaussian pyramid ("push-pull").

The network of model 0.3 does not see holes as zeros: inside the exported graph, every hole is
first filled with a smooth estimate from the known pixels around it, and the generator learns a
correction on top. This module is the NumPy reference of that fill; the Keras layer
(``rmnet_sdk.training.prefill``) computes the same function and is tested against it, and the
``prefill`` method of ``rmnet eval`` runs it alone.

Why undecimated ("à trous") instead of a halving pyramid: level ``k`` blurs the level below with
the 5-tap binomial kernel dilated by ``2**(k-1)``, at full resolution. That is the same smoothing
a halving pyramid applies, sampled at every pixel instead of every ``2**k``-th, so there is no
resampling at all: the graph is convolutions with static padding, valid for any ``H x W``
(sizes such as 384 → 3 → 2 that do not halve evenly need no special case on any backend), and
the coarse estimates are not blocky. A final global level (weighted mean over the whole image)
fills what no finite level reaches.

Push: ``v_k = B_k(v_{k-1})`` and ``c_k = B_k(c_{k-1})`` with ``v_0 = 1 - hole`` and
``c_0 = x * v_0`` (zero padding is neutral: padding carries no weight). Pull, coarse to fine:
``E = a_k * c_k / v_k + (1 - a_k) * E`` with ``a_k = min(1, v_k / support)``. At level 0 the
weight is the valid mask itself, so known pixels come out exactly as they went in.
"""

from __future__ import annotations

import numpy as np

#: The binomial 5-tap kernel (a Gaussian with sigma ~1): the classic pyramid filter.
BINOMIAL_5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32) / 16.0
#: Finite levels: dilations 1, 2, ..., 128 reach ~±510 px, past the 256² model resolution.
DEFAULT_LEVELS = 8
#: Fraction of valid weight at which a level's own estimate is fully trusted.
DEFAULT_SUPPORT = 0.06
#: Guards the division where a level has no support at all (its estimate is then unused).
EPS = 1e-6
#: The prefill layer's name in the generator; exported ONNX node names carry it as a path
#: component, which is how export passes (INT8, fp16) recognise the prefill's nodes.
LAYER_NAME = "prefill"


def is_prefill_node(node_name: str) -> bool:
    """Whether an exported ONNX node belongs to the prefill (tf2onnx scopes it ``.../prefill_1/...``)."""
    return any(part == LAYER_NAME or part.startswith(LAYER_NAME + "_") for part in node_name.split("/"))


def _blur_axis(x: np.ndarray, dilation: int, axis: int) -> np.ndarray:
    """Binomial blur along ``axis`` (0 = rows, 1 = columns) with zero padding."""
    r = 2 * dilation
    pad = [(0, 0)] * x.ndim
    pad[axis] = (r, r)
    xp = np.pad(x, pad)
    n = x.shape[axis]
    out = np.zeros_like(x)
    for j, w in enumerate(BINOMIAL_5):
        sl = [slice(None)] * x.ndim
        sl[axis] = slice(j * dilation, j * dilation + n)
        out += w * xp[tuple(sl)]
    return out


def blur(x: np.ndarray, dilation: int) -> np.ndarray:
    """Separable dilated binomial blur of an ``HxWxC`` float32 array (zero padding)."""
    return _blur_axis(_blur_axis(x, dilation, 0), dilation, 1)


def pyramid_prefill(x: np.ndarray, hole: np.ndarray, *, levels: int = DEFAULT_LEVELS,
                    support: float = DEFAULT_SUPPORT) -> np.ndarray:
    """Fill the holes of ``x`` (``HxWxC`` float32, any range) where ``hole`` (``HxW``) is nonzero.

    Known pixels are returned unchanged (bit-exact); an all-hole image comes back as zeros.
    """
    x = np.asarray(x, dtype=np.float32)
    valid = (np.asarray(hole) == 0).astype(np.float32)[..., None]
    v, c = valid, x * valid
    vs, cs = [v], [c]
    for k in range(levels):
        v, c = blur(v, 2 ** k), blur(c, 2 ** k)
        vs.append(v)
        cs.append(c)
    vg = valid.mean(axis=(0, 1), keepdims=True)
    estimate = (x * valid).mean(axis=(0, 1), keepdims=True) / np.maximum(vg, EPS)
    estimate = np.broadcast_to(estimate, x.shape)
    for k in range(levels, -1, -1):
        v, c = vs[k], cs[k]
        own = c / np.maximum(v, EPS)
        alpha = valid if k == 0 else np.minimum(v / support, 1.0)
        estimate = alpha * own + (1.0 - alpha) * estimate
    return np.where(valid > 0, x, estimate).astype(np.float32)


def prefill_uint8(rgb: np.ndarray, hole: np.ndarray, **kwargs: float) -> np.ndarray:
    """The prefill as an inpainting method on uint8 images (as ``rmnet eval`` runs it)."""
    out = pyramid_prefill(rgb.astype(np.float32), hole, **kwargs)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return np.where(np.asarray(hole, dtype=bool)[..., None], out, rgb)
