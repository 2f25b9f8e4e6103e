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

__all__ = [
    "__version__",
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
