"""The bundled default model and model-path resolution.

The default model ships inside the package (``rmnet_sdk/models/``) and is loaded offline; see
``MODEL_CARD.md`` beside this file for how it was trained and what it scores.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..contract.precision import ONNX_PRECISIONS, check_precision
from ..errors import ModelNotFoundError

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_FP32 = "rmnet_default.onnx"
DEFAULT_FP16 = "rmnet_default_fp16.onnx"
DEFAULT_INT8 = "rmnet_default_int8.onnx"
#: the bundled model's files by precision (all made by ``rmnet-export`` from one checkpoint)
BUNDLED = {"fp32": DEFAULT_FP32, "fp16": DEFAULT_FP16, "int8": DEFAULT_INT8}
PRECISIONS = ("auto", *BUNDLED)


def bundled_model(precision: str = "fp32") -> Path:
    """Path of the bundled default model in ``precision`` (fp32, fp16 or int8)."""
    name = BUNDLED[check_precision(precision, ONNX_PRECISIONS)]
    path = MODELS_DIR / name
    if not path.is_file():
        raise ModelNotFoundError(
            f"the bundled default model {name} is missing from {MODELS_DIR}; reinstall "
            f"rmnet-sdk or pass a model path (Inpainter(model='path/to/model.onnx'))")
    return path


def default_precision(backend: str) -> str:
    """Which bundled file a backend runs when the user did not choose.

    TensorRT builds its engine from the fp16 ONNX (precision comes from the ONNX types). ONNX
    Runtime on the CPU runs the INT8 file: it is ~0.6x the fp32 latency and passed the quality
    gate (hole-PSNR drop <= 0.3 dB in every bucket, see MODEL_CARD.md) before it was shipped.
    Everything else (CUDA EP, OpenCV DNN, which cannot parse QDQ) runs fp32.
    """
    if backend == "tensorrt" and (MODELS_DIR / DEFAULT_FP16).is_file():
        return "fp16"
    if backend == "onnxruntime" and (MODELS_DIR / DEFAULT_INT8).is_file():
        return "int8"
    return "fp32"


def resolve_model(model: str | os.PathLike[str] | None) -> Path:
    """``None`` -> the bundled model; otherwise an existing ``.onnx``/``.engine``/``.keras`` path."""
    if model is None:
        return bundled_model()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(f"model file not found: {path}")
    return path
