"""rmnet-sdk: R-MNet image inpainting for the edge (ONNX Runtime / TensorRT / C++ runtime).

Importing this package never imports TensorFlow: training (``rmnet_sdk.training``) and export
(``rmnet_sdk.export``) pull it in lazily.
"""

from __future__ import annotations

from .errors import (
    BackendUnavailableError,
    DataError,
    EngineMismatchError,
    ExportError,
    ImageReadError,
    InvalidInputError,
    ModelError,
    ModelNotFoundError,
    ParityError,
    RMNetError,
    WeightsNotFoundError,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy top-level API: ``rmnet_sdk.Inpainter`` without importing OpenCV at package import."""
    if name == "Inpainter":
        from .inpainter import Inpainter

        return Inpainter
    if name == "available_backends":
        from .backends import available_backends

        return available_backends
    raise AttributeError(f"module 'rmnet_sdk' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Inpainter",
    "available_backends",
    "BackendUnavailableError",
    "DataError",
    "EngineMismatchError",
    "ExportError",
    "ImageReadError",
    "InvalidInputError",
    "ModelError",
    "ModelNotFoundError",
    "ParityError",
    "RMNetError",
    "WeightsNotFoundError",
]
