"""rmnet-sdk: R-MNet image inpainting for the edge (ONNX Runtime / TensorRT / C++ runtime).

Importing this package never imports TensorFlow: training (``rmnet_sdk.training``) and export
(``rmnet_sdk.export``) pull it in lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

# The one place the version is written: pyproject.toml (scikit-build-core's regex provider) and
# CMakeLists.txt read it from this line.
__version__ = "0.1.0"

if TYPE_CHECKING:  # what IDEs and type checkers see; at run time __getattr__ imports lazily
    from .backends import available_backends
    from .inpainter import Inpainter


def __getattr__(name: str):
    """Lazy top-level API: ``rmnet_sdk.Inpainter`` without importing OpenCV at package import."""
    if name == "Inpainter":
        from .inpainter import Inpainter

        return Inpainter
    if name == "VideoInpainter":
        from .video import VideoInpainter

        return VideoInpainter
    if name == "available_backends":
        from .backends import available_backends

        return available_backends
    raise AttributeError(f"module 'rmnet_sdk' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Inpainter",
    "VideoInpainter",
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
