"""Native backend: the C++ runtime (``rmnet_sdk._native``) runs the network.

OpenCV DNN on the CPU for ``.onnx`` files, TensorRT for ``.engine`` files (sidecar checked in
C++). The Python :class:`~rmnet_sdk.Inpainter` keeps doing validation, strategies and the
composite, so results are comparable across backends; C++ apps get the whole pipeline in C++.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ModelError, ModelNotFoundError
from ..metadata import ModelMetadata
from .base import Backend


def _metadata(path: Path) -> ModelMetadata:
    if path.suffix.lower() == ".onnx":
        from ..export.onnx import read_onnx_metadata

        return read_onnx_metadata(path)
    from ..export import read_sidecar

    return ModelMetadata.from_dict(read_sidecar(path).get("metadata", {}))


class NativeBackend(Backend):
    name = "native"

    def __init__(self, model_path: str | os.PathLike[str], *, device: int = 0,
                 threads: int | None = None) -> None:
        from . import load_native

        _native = load_native()
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"model not found: {path}")
        try:
            self.impl = _native.Inpainter(str(path), device=device, num_threads=threads or 0)
        except RuntimeError as e:
            raise ModelError(f"the native runtime cannot load {path}: {e}") from e
        super().__init__(_metadata(path))
        self.path = path

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.impl.infer(np.ascontiguousarray(image, dtype=np.float32),
                               np.ascontiguousarray(mask, dtype=np.float32))

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "model": str(self.path), "runtime": self.impl.backend}
