"""The parity gate: the exported ONNX model must compute what the Keras generator computes.

Both run on the same deterministic inputs (a smooth image with noise, generated hole masks) at
several sizes, including ones the model was not traced at; the largest absolute difference of
the ``prediction`` is compared with a tolerance. Keras is imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._ort import create_session
from ..errors import InvalidInputError, ParityError
from ._common import check_spatial_size, log

#: Parity gate sizes (N, H, W): the trace size and a non-square size, batch > 1.
DEFAULT_PARITY_SIZES: tuple[tuple[int, int, int], ...] = ((1, 256, 256), (2, 384, 512))
#: Max abs difference (tanh output range [-1, 1]) allowed between Keras and ONNX Runtime.
DEFAULT_TOLERANCE = 1e-4


def keras_io(model: Any) -> tuple[list[tuple[str, int]], str]:
    """[(input name, channels)] in model order and the output name, checked against the contract."""
    inputs = []
    for t in model.inputs:
        shape = tuple(t.shape)
        if len(shape) != 4:
            raise InvalidInputError(f"model input {t.name!r} has shape {shape}; expected NHWC")
        inputs.append((t.name, int(shape[-1]) if shape[-1] is not None else -1))
    if len(inputs) != 2 or sorted(c for _, c in inputs) != [1, 3]:
        raise InvalidInputError(f"an R-MNet generator takes (image HxWx3, mask HxWx1); this model "
                                f"takes {[(n, c) for n, c in inputs]}")
    if len(model.outputs) != 1 or tuple(model.outputs[0].shape)[-1] != 3:
        raise InvalidInputError(f"an R-MNet generator has one HxWx3 output; this model has "
                                f"{[tuple(o.shape) for o in model.outputs]}")
    names = list(getattr(model, "output_names", None) or [])
    out_name = names[0] if names else model.outputs[0].name.split(":")[0].split("/")[0]
    return inputs, out_name


def parity_inputs(n: int, h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic NCHW test inputs: an image in [-1, 1] and a generator hole mask in {0, 1}."""
    from ..mask_generators import make_mask

    check_spatial_size(h, w)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    smooth = np.stack([np.sin(xx / 17.0), np.cos(yy / 23.0), np.sin((xx + yy) / 31.0)])
    image = np.clip(0.7 * smooth[None] + 0.3 * rng.uniform(-1, 1, (n, 3, h, w)), -1, 1)
    mask = np.stack([make_mask("mixed", (h, w), seed * 1000 + i) for i in range(n)])
    return image.astype(np.float32), mask[:, None].astype(np.float32)


def _run_ort(session: Any, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    types = {i.name: i.type for i in session.get_inputs()}
    dt = {k: np.float16 if v == "tensor(float16)" else np.float32 for k, v in types.items()}
    out = session.run(["prediction"], {"image": image.astype(dt["image"]),
                                       "mask": mask.astype(dt["mask"])})[0]
    return np.asarray(out, dtype=np.float32)


def _run_keras(model: Any, image: np.ndarray, mask: np.ndarray, order: list[str]) -> np.ndarray:
    import keras

    nhwc = {"image": image.transpose(0, 2, 3, 1), "mask": mask.transpose(0, 2, 3, 1)}
    feeds = [nhwc[k] for k in order]
    out = keras.ops.convert_to_numpy(model(feeds, training=False))
    return np.asarray(out, dtype=np.float32).transpose(0, 3, 1, 2)


def check_parity(keras_model: Any, onnx_model: bytes | str | os.PathLike[str], *,
                 sizes: Sequence[tuple[int, int, int]] = DEFAULT_PARITY_SIZES,
                 tolerance: float = DEFAULT_TOLERANCE, seed: int = 0,
                 raise_on_failure: bool = True) -> dict[str, float]:
    """Max abs difference between Keras and ONNX Runtime on the ``prediction`` per (N, H, W).

    Raises :class:`ParityError` when any exceeds ``tolerance`` (unless ``raise_on_failure`` is
    false) and :class:`InvalidInputError` for sizes that are not multiples of 16.
    """
    if not sizes:
        raise InvalidInputError("check_parity needs at least one (N, H, W) size")
    for n, h, w in sizes:
        check_spatial_size(h, w)
        if int(n) < 1:
            raise InvalidInputError(f"batch size must be >= 1, got {n}")
    inputs, _ = keras_io(keras_model)
    order = ["image" if c == 3 else "mask" for _, c in inputs]
    session = create_session(onnx_model if isinstance(onnx_model, bytes) else Path(onnx_model),
                             what="the model")
    diffs: dict[str, float] = {}
    for i, (n, h, w) in enumerate(sizes):
        image, mask = parity_inputs(n, h, w, seed + i)
        ref = _run_keras(keras_model, image, mask, order)
        got = _run_ort(session, image, mask)
        if got.shape != ref.shape:
            raise ParityError(f"ONNX output shape {got.shape} != Keras {ref.shape} at {n}x{h}x{w}")
        diff = float(np.max(np.abs(got - ref))) if np.isfinite(got).all() else float("inf")
        diffs[f"{n}x{h}x{w}"] = diff
        log.info("parity %dx%dx%d: max |onnx - keras| = %.3g", n, h, w, diff)
    bad = {k: v for k, v in diffs.items() if not v <= tolerance}
    if bad and raise_on_failure:
        raise ParityError(f"ONNX Runtime disagrees with Keras beyond {tolerance:g} (max abs): "
                          + ", ".join(f"{k}: {v:.3g}" for k, v in bad.items()))
    return diffs
