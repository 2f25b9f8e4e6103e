"""Reading a ``.keras`` generator: its rmnet metadata and the model itself (``safe_mode`` on).

A runtime module because both the ``keras`` backend and the ONNX export read generators, and
neither may depend on the training code. Keras is imported inside :func:`load_generator` only,
so this module (and :func:`read_keras_metadata`, a plain zip read) imports without TensorFlow.
Writing a generator (``save_generator``) belongs to training, which produces them.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from .contract.metadata import KERAS_MEMBER, ModelMetadata
from .errors import ModelError, ModelNotFoundError


def read_keras_metadata(path: str | os.PathLike[str]) -> ModelMetadata:
    """Our metadata from a ``.keras`` archive; defaults when it has none."""
    try:
        with zipfile.ZipFile(path) as zf:
            if KERAS_MEMBER not in zf.namelist():
                return ModelMetadata()
            return ModelMetadata.from_dict(json.loads(zf.read(KERAS_MEMBER)))
    except (OSError, zipfile.BadZipFile) as e:
        raise ModelError(f"cannot read Keras model {path}: {e}") from e


def load_generator(path: str | os.PathLike[str]) -> Any:
    """Load a ``.keras`` generator with Keras ``safe_mode`` on (no arbitrary code runs).

    The custom layers a generator may hold are registered first (importing
    :mod:`rmnet_sdk.keras_layers`). A missing file raises :class:`ModelNotFoundError`, one Keras
    cannot read :class:`ModelError`."""
    import keras

    from . import keras_layers  # noqa: F401  (registers the prefill generator's layers)

    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"Keras model not found: {path}")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many types for corrupt archives
        raise ModelError(f"cannot load Keras model {path}: {e}") from e
