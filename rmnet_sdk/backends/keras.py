"""Keras backend: runs a ``.keras`` generator directly (reference path; imports Keras lazily)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, ModelNotFoundError
from .base import Backend


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
        from ..training.checkpoint import load_generator, read_keras_metadata

        self.model = load_generator(path)
        super().__init__(read_keras_metadata(path))
        self.path = path

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        from keras import ops

        pred = self.model([np.ascontiguousarray(image.transpose(0, 2, 3, 1)),
                           np.ascontiguousarray(mask.transpose(0, 2, 3, 1))], training=False)
        return np.ascontiguousarray(ops.convert_to_numpy(pred).transpose(0, 3, 1, 2))
