"""One exception hierarchy for the whole SDK.

Every error the SDK raises on purpose derives from :class:`RMNetError`, so callers can catch
everything of ours with one ``except`` and still tell bad input from a missing backend. Each also
derives from the matching built-in (``ValueError``, ``FileNotFoundError``, ...) so generic code
that already catches those keeps working.
"""

from __future__ import annotations


class RMNetError(Exception):
    """Base class of every error raised by rmnet-sdk."""


class InvalidInputError(RMNetError, ValueError):
    """An image, mask, size or argument does not meet the documented contract."""


class DataError(RMNetError, ValueError):
    """A training/evaluation data source is empty or unusable."""


class ImageReadError(RMNetError, OSError):
    """A file exists but cannot be decoded as an image (or does not exist)."""


class ModelError(RMNetError):
    """A model file is missing, corrupt or does not match the expected contract."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """A model or weights file that was asked for does not exist."""


class WeightsNotFoundError(ModelNotFoundError):
    """Pretrained weights (e.g. VGG19 ImageNet) are not available offline."""


class EngineMismatchError(ModelError):
    """A TensorRT engine's sidecar does not match the request (ONNX, TensorRT, GPU, profiles)."""


class BackendUnavailableError(RMNetError, RuntimeError):
    """The requested inference backend cannot run on this machine."""


class ExportError(RMNetError):
    """A model could not be exported (ONNX conversion, fp16, TensorRT build)."""


class EngineCacheError(ExportError, OSError):
    """The engine cache cannot be used: a file or folder is in the way, no permission to build in
    it, or another process has held its lock past the timeout."""


class ParityError(ExportError):
    """An exported model disagrees with its source beyond the allowed tolerance."""


__all__ = [
    "RMNetError",
    "InvalidInputError",
    "DataError",
    "ImageReadError",
    "ModelError",
    "ModelNotFoundError",
    "WeightsNotFoundError",
    "EngineMismatchError",
    "BackendUnavailableError",
    "ExportError",
    "EngineCacheError",
    "ParityError",
]
