"""Model metadata (kept importable here; it lives in :mod:`rmnet_sdk.contract.metadata`)."""

from .contract.metadata import (  # noqa: F401
    KERAS_MEMBER,
    ONNX_KEY_PREFIX,
    ModelMetadata,
    read_onnx_file_metadata,
)
