"""Inference backends and the rules for choosing one.

``auto`` prefers TensorRT (GPU + TensorRT installed), then ONNX Runtime with CUDA, then ONNX
Runtime on the CPU. An explicitly requested backend that cannot run raises
:class:`BackendUnavailableError` listing what is available: no silent fallback.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

from .._cuda import cuda_device_count
from ..errors import BackendUnavailableError, InvalidInputError
from .base import Backend

BACKEND_NAMES: tuple[str, ...] = ("tensorrt", "onnxruntime-cuda", "onnxruntime", "keras", "native")


def load_native() -> ModuleType:
    """``rmnet_sdk._native`` (the C++ runtime); ImportError when it is not built."""
    from .. import _native

    return _native


def _why_unavailable(name: str) -> str | None:
    """``None`` when backend ``name`` can run here, else the reason it cannot."""
    if name == "onnxruntime":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime is not installed"
        return None
    if name == "onnxruntime-cuda":
        try:
            import onnxruntime as ort
        except ImportError:
            return "onnxruntime is not installed"
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return "onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)"
        return None
    if name == "tensorrt":
        # Either product runs engines: full TensorRT, or TensorRT-RTX (its engines' sidecars say
        # so). find_spec, not import: no library is loaded just to answer.
        if not any(importlib.util.find_spec(m) is not None for m in ("tensorrt", "tensorrt_rtx")):
            return ("TensorRT is not installed (pip install 'rmnet-sdk[tensorrt]' on a GPU machine, "
                    "or tensorrt-rtx-cu13)")
        if cuda_device_count() == 0:
            return "no CUDA GPU found"
        return None
    if name == "keras":
        # find_spec, not import: importing Keras loads TensorFlow (seconds, and its protobuf)
        if importlib.util.find_spec("keras") is None:
            return "Keras 3 is not installed (pip install 'rmnet-sdk[train]')"
        return None
    if name == "native":
        try:
            load_native()
        except ImportError as e:
            return f"the C++ extension rmnet_sdk._native is not built ({e})"
        return None
    return f"unknown backend {name!r}"


def available_backends() -> dict[str, str | None]:
    """Every backend name mapped to ``None`` (usable) or the reason it is not."""
    return {name: _why_unavailable(name) for name in BACKEND_NAMES}


def _require(name: str) -> None:
    reason = _why_unavailable(name)
    if reason is not None:
        usable = [n for n, r in available_backends().items() if r is None]
        raise BackendUnavailableError(
            f"backend {name!r} is unavailable: {reason}. Available here: {usable}")


def choose_backend(requested: str, model_path: Path) -> str:
    """Resolve ``auto`` for this model file; validate an explicit choice."""
    if requested != "auto" and requested not in BACKEND_NAMES:
        raise InvalidInputError(f"backend must be 'auto' or one of {list(BACKEND_NAMES)}, "
                                f"got {requested!r}")
    suffix = model_path.suffix.lower()
    if requested == "auto":
        if suffix == ".keras":
            return "keras"
        if suffix in (".engine", ".plan"):
            return "tensorrt"
        for name in ("tensorrt", "onnxruntime-cuda", "onnxruntime"):
            if _why_unavailable(name) is None:
                return name
        _require("onnxruntime")
    return requested


def create_backend(requested: str, model_path: str | os.PathLike[str], *, device: int = 0,
                   threads: int | None = None) -> Backend:
    """Instantiate the backend for ``model_path`` (see module docstring for ``auto``)."""
    model_path = Path(model_path)
    name = choose_backend(requested, model_path)
    suffix = model_path.suffix.lower()
    if name == "tensorrt" and suffix in (".engine", ".plan"):
        from .tensorrt import TensorRTBackend

        # The backend checks an engine in order (sidecar, the TensorRT product it names, a GPU,
        # compatibility) and says which step fails; a blanket availability check would hide that.
        return TensorRTBackend(model_path, device=device)
    _require(name)
    if name == "native" and suffix not in (".onnx", ".engine", ".plan"):
        raise InvalidInputError(f"backend 'native' runs .onnx or .engine models, got {model_path.name}")
    if name in ("onnxruntime", "onnxruntime-cuda") and suffix != ".onnx":
        raise InvalidInputError(f"backend {name!r} runs .onnx models, got {model_path.name}")
    if name == "keras" and suffix != ".keras":
        raise InvalidInputError(f"backend 'keras' runs .keras models, got {model_path.name}")
    if name == "onnxruntime":
        from .onnxruntime import OnnxRuntimeBackend

        return OnnxRuntimeBackend(model_path, threads=threads)
    if name == "onnxruntime-cuda":
        from .onnxruntime import OnnxRuntimeBackend

        return OnnxRuntimeBackend(model_path, provider="cuda", device=device, threads=threads)
    if name == "keras":
        from .keras import KerasBackend

        return KerasBackend(model_path)
    if name == "tensorrt":
        from .tensorrt import TensorRTBackend

        # The bundled model's fp16 file is chosen by Inpainter(precision="auto"); a path given
        # here runs in the precision its file holds.
        return TensorRTBackend(model_path, device=device)
    from .native import NativeBackend

    return NativeBackend(model_path, device=device, threads=threads)


__all__ = ["Backend", "BACKEND_NAMES", "available_backends", "choose_backend", "create_backend",
           "cuda_device_count", "load_native"]
