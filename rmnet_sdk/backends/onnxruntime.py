"""ONNX Runtime backend (CPU, or CUDA with the ``onnxruntime-gpu`` package)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._ort import create_session
from ..errors import BackendUnavailableError, InvalidInputError, ModelError, ModelNotFoundError
from ..metadata import ModelMetadata
from .base import Backend

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def read_metadata(session) -> ModelMetadata:  # onnxruntime.InferenceSession
    return ModelMetadata.from_strings(dict(session.get_modelmeta().custom_metadata_map))


class OnnxRuntimeBackend(Backend):
    """Runs an ``.onnx`` file; the session is created once and reused for every call."""

    name = "onnxruntime"

    def __init__(self, model_path: str | os.PathLike[str], *, provider: str = "cpu",
                 device: int = 0, threads: int | None = None) -> None:
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"ONNX model not found: {path}")
        providers: list = ["CPUExecutionProvider"]
        if provider == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendUnavailableError(
                    "onnxruntime-cuda needs the onnxruntime-gpu package and a CUDA GPU; "
                    f"available providers: {ort.get_available_providers()}")
            providers = [("CUDAExecutionProvider", {"device_id": device}), "CPUExecutionProvider"]
            self.name = "onnxruntime-cuda"
        self.session = create_session(path, providers=providers, threads=threads,
                                      what=f"ONNX model {path}")
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if set(inputs) != {"image", "mask"} or "prediction" not in outputs:
            raise ModelError(f"{path} is not an R-MNet model: expected inputs image, mask and "
                             f"output prediction; got inputs {sorted(inputs)}, outputs {outputs}")
        self._dtypes = {k: _ORT_TYPES.get(v.type, np.float32) for k, v in inputs.items()}
        super().__init__(read_metadata(self.session))
        self.path = path

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"image": image.astype(self._dtypes["image"], copy=False),
                 "mask": mask.astype(self._dtypes["mask"], copy=False)}
        try:
            (out,) = self.session.run(["prediction"], feeds)
        except Exception as e:
            raise InvalidInputError(f"ONNX Runtime rejected input of shape {image.shape}: {e}") from e
        return out.astype(np.float32, copy=False)

    def describe(self) -> dict[str, object]:
        import onnxruntime as ort

        return {**super().describe(), "model": str(self.path), "onnxruntime": ort.__version__,
                "providers": self.session.get_providers()}
