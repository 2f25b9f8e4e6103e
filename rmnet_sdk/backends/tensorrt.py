"""TensorRT backend (TensorRT 10.x/11.x or TensorRT-RTX Python API + pycuda): the GPU fast path.

The pure logic (profile selection, batch planning, buffer sizing) is separate from the engine
calls, which live in :class:`_EngineSession` (its TensorRT and CUDA modules can be injected), so
it is unit-tested on machines without a GPU. A TensorRT runtime is never created before
:func:`cuda_device_count` confirms a GPU: without one the runtime object is unusable and the next
call segfaults.

An ``.engine`` is checked in this order, each step before anything that needs the next: its bytes
against the sidecar (:mod:`rmnet_sdk.contract.sidecar`), the TensorRT product the sidecar names
(``tensorrt`` or ``tensorrt_rtx``) is importable, a CUDA GPU exists, then the sidecar matches that
product's version and the GPU. The bytes checked are the bytes deserialised.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..contract.io import TENSOR_NAMES
from ..contract.metadata import ModelMetadata
from ..contract.profiles import Profile, plan_batches, select_profile  # noqa: F401 (re-exported)
from ..contract.sidecar import RuntimeExpectation, engine_problems, raise_problems, read_engine
from ..engines.environment import MODULES  # Python module of each engine flavour
from ..errors import BackendUnavailableError, EngineMismatchError, InvalidInputError, ModelError
from .base import Backend

#: Install hint per flavour.
_INSTALL = {"tensorrt": "pip install 'rmnet-sdk[tensorrt]' on the GPU machine (JetPack ships it)",
            "tensorrt-rtx": "pip install tensorrt-rtx-cu13"}

log = logging.getLogger("rmnet_sdk.tensorrt")

def split_batch(n: int, max_n: int) -> list[slice]:
    """Chunks of at most ``max_n`` items covering ``range(n)`` (for batches over the profile)."""
    if max_n < 1:
        raise ValueError(f"max batch must be >= 1, got {max_n}")
    return [slice(s, min(s + max_n, n)) for s in range(0, n, max_n)]


def buffer_nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape)) * np.dtype(dtype).itemsize


class _BufferPool:
    """Host (pinned) and device buffers per tensor shape, reused; at most ``capacity`` shapes are
    kept (least recently used dropped first), so a stream of image sizes cannot grow it without
    bound. Dropped buffers are freed when their last reference goes."""

    def __init__(self, alloc_host, alloc_device, capacity: int = 8) -> None:
        self._alloc_host, self._alloc_device = alloc_host, alloc_device
        self._cache: OrderedDict[tuple[str, tuple[int, ...], str], tuple[object, object]] = \
            OrderedDict()
        self.capacity = max(3, int(capacity))  # one image, mask and prediction at least
        self.allocations = 0

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> tuple[object, object]:
        key = (name, tuple(shape), np.dtype(dtype).str)
        if key in self._cache:
            self._cache.move_to_end(key)
        else:
            while len(self._cache) >= self.capacity:
                self._cache.popitem(last=False)
            self._cache[key] = (self._alloc_host(shape, dtype),
                                self._alloc_device(buffer_nbytes(shape, dtype)))
            self.allocations += 1
        return self._cache[key]

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        self._cache.clear()


def _import_pycuda() -> Any:
    try:
        import pycuda.driver as cuda
    except ImportError as e:
        raise BackendUnavailableError(
            "the tensorrt backend moves tensors with pycuda, which is not installed (pip install "
            "'rmnet-sdk[tensorrt]' on the GPU machine), or use backend='native'") from e
    return cuda


class _EngineSession:
    """Everything that touches TensorRT and CUDA: engine, one context, one stream, buffers.

    ``trt`` is the module of the engine's flavour (``tensorrt`` or ``tensorrt_rtx``); ``cuda`` is
    ``pycuda.driver`` unless injected. The CUDA context of ``device`` is current only inside calls,
    and everything made in it is freed before it is released (:meth:`close`).
    """

    def __init__(self, engine_bytes: bytes, device: int, *, trt: Any, cuda: Any = None) -> None:
        cuda = cuda or _import_pycuda()
        cuda.init()
        self._ctx = cuda.Device(device).retain_primary_context()
        self._ctx.push()
        try:
            self._logger = trt.Logger(trt.Logger.WARNING)
            self.runtime = trt.Runtime(self._logger)
            self.engine = self.runtime.deserialize_cuda_engine(engine_bytes)
            if self.engine is None:
                raise ModelError("TensorRT could not deserialize the engine (corrupt file, or "
                                 "built by another TensorRT version or for another GPU)")
            self.context = self.engine.create_execution_context()
            self.stream = cuda.Stream()
        except BaseException:
            self._ctx.pop()
            self._ctx.detach()
            raise
        self._ctx.pop()
        self._cuda, self._trt = cuda, trt
        self.device = device
        self._profile = 0
        self.pool = _BufferPool(lambda shape, dt: cuda.pagelocked_empty(shape, dt),
                                lambda nbytes: cuda.mem_alloc(nbytes))
        self.dtypes = {name: np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
                       for name in TENSOR_NAMES}

    def profiles(self) -> list[Profile]:
        out = []
        for i in range(self.engine.num_optimization_profiles):
            lo, opt, hi = self.engine.get_tensor_profile_shape("image", i)
            out.append(Profile(*((int(s[0]), int(s[2]), int(s[3])) for s in (lo, opt, hi))))
        return out

    def run(self, profile: int, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        cuda = self._cuda
        self._ctx.push()
        try:
            ctx = self.context
            if profile != self._profile:
                if not ctx.set_optimization_profile_async(profile, self.stream.handle):
                    raise ModelError(f"TensorRT cannot select optimisation profile {profile}")
                self._profile = profile
            for name, arr in (("image", image), ("mask", mask)):
                if not ctx.set_input_shape(name, arr.shape):
                    raise InvalidInputError(
                        f"TensorRT refused {name} shape {tuple(arr.shape)} on profile {profile} "
                        "(outside its min/max)")
            out_shape = (image.shape[0], 3, image.shape[2], image.shape[3])
            got = tuple(int(d) for d in ctx.get_tensor_shape("prediction"))
            if got != out_shape:
                raise ModelError(f"the engine's prediction would be {got}, expected {out_shape}")
            for name, arr in (("image", image), ("mask", mask)):
                h, d = self.pool.get(name, arr.shape, self.dtypes[name])
                np.copyto(h, arr, casting="unsafe")
                cuda.memcpy_htod_async(d, h, self.stream)
                ctx.set_tensor_address(name, int(d))
            h_out, d_out = self.pool.get("prediction", out_shape, self.dtypes["prediction"])
            ctx.set_tensor_address("prediction", int(d_out))
            if not ctx.execute_async_v3(self.stream.handle):
                raise ModelError("TensorRT execution failed")
            cuda.memcpy_dtoh_async(h_out, d_out, self.stream)
            self.stream.synchronize()
            return np.array(h_out, dtype=np.float32)
        except BaseException:
            # Copies in flight read the pinned buffers the next call rewrites: let them finish.
            self.stream.synchronize()
            raise
        finally:
            self._ctx.pop()

    def close(self) -> None:
        """Free buffers, context, engine and runtime inside the CUDA context, then release it."""
        if self._ctx is None:
            return
        self._ctx.push()
        try:
            self.stream.synchronize()
            self.pool.clear()
            self.context = self.engine = self.stream = None
            self.runtime = None  # the runtime outlives its engines: dropped last
        finally:
            self._ctx.pop()
            self._ctx.detach()
            self._ctx = None


class TensorRTBackend(Backend):
    """Runs a TensorRT engine; an ``.onnx`` model is compiled through the engine cache first."""

    name = "tensorrt"

    def __init__(self, model_path: str | os.PathLike[str], *, device: int = 0,
                 session: _EngineSession | None = None, metadata: ModelMetadata | None = None) -> None:
        path = Path(model_path)
        if session is None:
            engine, sidecar, trt = _load_checked(path, device)
            metadata = ModelMetadata.from_dict(sidecar.get("metadata", {}))
            session = _EngineSession(engine, device, trt=trt)
        super().__init__(metadata or ModelMetadata())
        self.path = path
        self.session = session
        self._lock = threading.Lock()  # one context and one set of buffers: one call at a time
        self.profiles = session.profiles()
        if not self.profiles:
            raise EngineMismatchError(f"{path}: engine has no optimisation profile")
        self.max_batch = max(p.max[0] for p in self.profiles)

    def accepts_size(self, height: int, width: int) -> bool:
        return any(p.accepts_spatial(height, width) for p in self.profiles)

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        n, _, h, w = image.shape
        out = np.empty((n, 3, h, w), np.float32)
        with self._lock:
            for part, idx in plan_batches(self.profiles, n, h, w):
                out[part] = self.session.run(idx, image[part], mask[part])
        return out

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "engine": str(self.path),
                "profiles": [p.__dict__ for p in self.profiles]}

    def close(self) -> None:
        with self._lock:
            self.session.close()


def import_flavour(flavour: str, engine: Path | str = "") -> Any:
    """The TensorRT module for an engine ``flavour``; BackendUnavailableError when not installed."""
    if flavour not in MODULES:
        raise EngineMismatchError(f"engine {engine} has unknown flavour {flavour!r}; expected one "
                                  f"of {sorted(MODULES)}")
    try:
        return importlib.import_module(MODULES[flavour])
    except Exception as e:  # ImportError, or OSError from a missing libnvinfer
        raise BackendUnavailableError(
            f"engine {engine} was built with {flavour}, whose Python module {MODULES[flavour]} "
            f"cannot be imported ({e}): {_INSTALL[flavour]}") from e


def _gpu_cc(device: int, what: str) -> str:
    """Compute capability ``"8.7"`` of ``device``; BackendUnavailableError without a GPU."""
    from .._cuda import cuda_devices

    gpus = cuda_devices()  # before ANY TensorRT runtime call (segfault otherwise)
    if not gpus:
        raise BackendUnavailableError(f"the tensorrt backend needs a CUDA GPU; none found ({what})")
    if not 0 <= device < len(gpus):
        raise InvalidInputError(f"CUDA device {device} does not exist ({len(gpus)} found)")
    return gpus[device].cc


def _load_checked(path: Path, device: int) -> tuple[bytes, dict, Any]:
    """``(engine bytes, sidecar, trt module)`` for an ``.engine`` or, built once through the
    engine cache for ``device``, an ``.onnx``; each check in the module docstring's order."""
    if path.suffix.lower() == ".onnx":
        _gpu_cc(device, "engines are built and run on the GPU")
        engine_path = _engine_for_onnx(path, device)
    else:
        engine_path = path
    engine, sidecar = read_engine(engine_path)  # bytes vs sidecar: no TensorRT or GPU needed
    flavour = sidecar.get("flavour", "tensorrt")
    trt = import_flavour(flavour, engine_path)
    version = str(getattr(trt, "__version__", "0"))
    cc = _gpu_cc(device, f"{engine_path.name} and its sidecar were checked and "
                         f"{MODULES[flavour]} {version} is installed")
    raise_problems(engine_path, engine_problems(sidecar, engine, RuntimeExpectation(
        flavour=flavour, trt_version=version, compute_capability=cc)))
    return engine, sidecar, trt


def _engine_for_onnx(path: Path, device: int) -> Path:
    """The cached engine for an ``.onnx`` on ``device``, built on first use."""
    import onnx

    from ..contract.cache_key import EngineRequest
    from ..contract.precision import onnx_precision
    from ..engines.cache import EngineCache

    # strongly typed engines take their precision from the ONNX: build what the file holds
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf DecodeError, OSError
        raise ModelError(f"{path} is not a valid ONNX model: {e}") from e
    precision = "fp16" if onnx_precision(model) == "fp16" else "fp32"
    del model
    request = EngineRequest(precision=precision)
    cache = EngineCache(device=device)
    hit = cache.lookup(path, request)
    if hit is None:
        log.warning("building a %s TensorRT engine for %s (first use; cached in %s) ...",
                    precision, path.name, cache.root)
        hit = cache.get_or_build(path, request)
    return hit[0]
