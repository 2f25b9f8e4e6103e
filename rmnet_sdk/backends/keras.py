"""Keras backend: runs a ``.keras`` generator directly (reference path; imports Keras lazily)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, ModelNotFoundError
from .base import Backend


def compile_inference(model: Any) -> Callable[[Any, Any], Any]:
    """``(image_nhwc, mask_nhwc) -> prediction`` in inference mode, compiled where the Keras
    backend can: a ``tf.function`` graph on TensorFlow (eager calls are ~2x slower and would
    make this reference path look worse than it is), the plain call elsewhere."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(lambda x, m: model([x, m], training=False), reduce_retracing=True)
    return lambda x, m: model([x, m], training=False)


def infer_nchw(fn: Callable[[Any, Any], Any], image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A Keras generator call (NHWC) with the backends' NCHW tensors in and out."""
    from keras import ops

    pred = fn(np.ascontiguousarray(image.transpose(0, 2, 3, 1)),
              np.ascontiguousarray(mask.transpose(0, 2, 3, 1)))
    return np.ascontiguousarray(ops.convert_to_numpy(pred).transpose(0, 3, 1, 2))


class KerasBackend(Backend):
    name = "keras"

    def __init__(self, model_path: str | os.PathLike[str]) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"Keras model not found: {path}")
        try:
            import keras  # noqa: F401
        except ImportError as e:
            raise BackendUnavailableError(
                "the keras backend needs Keras 3 (pip install 'rmnet-sdk[train]')") from e
        from ..keras_model import load_generator, read_keras_metadata

        self.model = load_generator(path)
        self._fn: Callable[[Any, Any], Any] | None = None
        super().__init__(read_keras_metadata(path))
        self.path = path

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._fn is None:
            self._fn = compile_inference(self.model)
        return infer_nchw(self._fn, image, mask)
