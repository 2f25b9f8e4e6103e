"""The bundled default model and model-path resolution.

The default model ships inside the package (``rmnet_sdk/models/``) and is loaded offline; see
``MODEL_CARD.md`` beside this file for how it was trained and what it scores.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelNotFoundError

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_FP32 = "rmnet_default.onnx"
DEFAULT_FP16 = "rmnet_default_fp16.onnx"


def bundled_model(precision: str = "fp32") -> Path:
    """Path of the bundled default model (fp32 for CPUs, fp16 for TensorRT)."""
    name = DEFAULT_FP16 if precision == "fp16" else DEFAULT_FP32
    path = MODELS_DIR / name
    if not path.is_file():
        raise ModelNotFoundError(
            f"the bundled default model {name} is missing from {MODELS_DIR}; reinstall "
            f"rmnet-sdk or pass a model path (Inpainter(model='path/to/model.onnx'))")
    return path


def resolve_model(model: str | os.PathLike[str] | None) -> Path:
    """``None`` -> the bundled model; otherwise an existing ``.onnx``/``.engine``/``.keras`` path."""
    if model is None:
        return bundled_model()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(f"model file not found: {path}")
    return path
