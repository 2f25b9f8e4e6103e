"""Native backend: the C++ runtime (``rmnet_sdk._native``) runs the network.

OpenCV DNN on the CPU for ``.onnx`` files, TensorRT for ``.engine`` files. An engine's bytes are
checked against its sidecar here (:func:`rmnet_sdk.sidecar.read_engine`) before the C++ runtime,
which checks them again with its GPU and TensorRT version, ever sees the file. The Python :class:`~rmnet_sdk.Inpainter` keeps doing validation, strategies and the
composite, so results are comparable across backends; C++ apps get the whole pipeline in C++.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ..errors import ModelError, ModelNotFoundError
from ..metadata import ModelMetadata, read_onnx_file_metadata
from ..sidecar import read_engine
from .base import Backend


def _metadata(path: Path) -> ModelMetadata:
    if path.suffix.lower() == ".onnx":
        return read_onnx_file_metadata(path)
    _, sidecar = read_engine(path)  # a replaced or truncated engine: EngineMismatchError
    return ModelMetadata.from_dict(sidecar.get("metadata", {}))


class NativeBackend(Backend):
    name = "native"

    def __init__(self, model_path: str | os.PathLike[str], *, device: int = 0,
                 threads: int | None = None) -> None:
        from . import load_native

        _native = load_native()
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"model not found: {path}")
        metadata = _metadata(path)  # first: an engine is checked before C++ loads it
        try:
            self.impl = _native.Inpainter(str(path), device=device, num_threads=threads or 0)
        except RuntimeError as e:
            raise ModelError(f"the native runtime cannot load {path}: {e}") from e
        super().__init__(metadata)
        self.path = path
        # The C++ Inpainter owns one stream and one set of staging buffers, and its binding
        # releases the GIL: two Python threads sharing this backend must take turns.
        self._lock = threading.Lock()

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        image = np.ascontiguousarray(image, dtype=np.float32)
        mask = np.ascontiguousarray(mask, dtype=np.float32)
        with self._lock:
            return self.impl.infer(image, mask)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "model": str(self.path), "runtime": self.impl.backend}
