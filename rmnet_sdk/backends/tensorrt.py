"""TensorRT backend (TensorRT 10.x/11.x Python API + pycuda): the GPU fast path.

The pure logic (profile selection, batch splitting, buffer sizing) is separate from the engine
calls, which live in :class:`_EngineSession`, so it is unit-tested on machines without a GPU.
A TensorRT runtime is never created before :func:`cuda_device_count` confirms a GPU: without
one the runtime object is unusable and the next call segfaults.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, EngineMismatchError, InvalidInputError, ModelError
from ..metadata import ModelMetadata
from .base import Backend

log = logging.getLogger("rmnet_sdk.tensorrt")

Shape3 = tuple[int, int, int]  # (N, H, W)


@dataclass(frozen=True)
class Profile:
    """One optimisation profile of an engine, as ``(N, H, W)`` min / opt / max."""

    min: Shape3
    opt: Shape3
    max: Shape3

    def accepts_spatial(self, h: int, w: int) -> bool:
        return self.min[1] <= h <= self.max[1] and self.min[2] <= w <= self.max[2]

    def accepts(self, n: int, h: int, w: int) -> bool:
        return self.min[0] <= n <= self.max[0] and self.accepts_spatial(h, w)


def select_profile(profiles: list[Profile], n: int, h: int, w: int) -> int:
    """Index of the profile to run ``(n, h, w)`` with.

    Among profiles that accept the spatial size, prefer one that takes the whole batch, then
    the one whose ``opt`` is closest to the request (TensorRT tunes kernels for ``opt``).
    """
    fits = [i for i, p in enumerate(profiles) if p.accepts_spatial(h, w)]
    if not fits:
        ranges = ", ".join(f"H {p.min[1]}-{p.max[1]} W {p.min[2]}-{p.max[2]}" for p in profiles)
        raise InvalidInputError(f"no optimisation profile of this engine accepts {h}x{w} "
                                f"(profiles: {ranges}); rebuild the engine with a wider profile")

    def cost(i: int) -> tuple[int, int]:
        p = profiles[i]
        whole = 0 if p.accepts(n, h, w) else 1
        return whole, abs(p.opt[0] - n) + abs(p.opt[1] - h) + abs(p.opt[2] - w)

    return min(fits, key=cost)


def split_batch(n: int, max_n: int) -> list[slice]:
    """Chunks of at most ``max_n`` items covering ``range(n)`` (for batches over the profile)."""
    if max_n < 1:
        raise ValueError(f"max batch must be >= 1, got {max_n}")
    return [slice(s, min(s + max_n, n)) for s in range(0, n, max_n)]


def buffer_nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape)) * np.dtype(dtype).itemsize


class _BufferPool:
    """Host (pinned) and device buffers, allocated once per tensor shape and then reused."""

    def __init__(self, alloc_host, alloc_device) -> None:
        self._alloc_host, self._alloc_device = alloc_host, alloc_device
        self._cache: dict[tuple[str, tuple[int, ...], str], tuple[object, object]] = {}
        self.allocations = 0

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> tuple[object, object]:
        key = (name, tuple(shape), np.dtype(dtype).str)
        if key not in self._cache:
            self._cache[key] = (self._alloc_host(shape, dtype),
                                self._alloc_device(buffer_nbytes(shape, dtype)))
            self.allocations += 1
        return self._cache[key]


class _EngineSession:
    """Everything that touches TensorRT and CUDA: engine, one context, one stream, buffers."""

    def __init__(self, engine_bytes: bytes, device: int) -> None:
        import pycuda.driver as cuda
        import tensorrt as trt

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
        finally:
            self._ctx.pop()
        self._cuda, self._trt = cuda, trt
        self.pool = _BufferPool(lambda shape, dt: cuda.pagelocked_empty(shape, dt),
                                lambda nbytes: cuda.mem_alloc(nbytes))
        self.dtypes = {name: np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
                       for name in ("image", "mask", "prediction")}

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
            ctx.set_optimization_profile_async(profile, self.stream.handle)
            ctx.set_input_shape("image", image.shape)
            ctx.set_input_shape("mask", mask.shape)
            out_shape = (image.shape[0], 3, image.shape[2], image.shape[3])
            host = {}
            for name, arr in (("image", image), ("mask", mask)):
                h, d = self.pool.get(name, arr.shape, self.dtypes[name])
                np.copyto(h, arr, casting="unsafe")
                cuda.memcpy_htod_async(d, h, self.stream)
                ctx.set_tensor_address(name, int(d))
            h_out, d_out = self.pool.get("prediction", out_shape, self.dtypes["prediction"])
            ctx.set_tensor_address("prediction", int(d_out))
            host["prediction"] = h_out
            if not ctx.execute_async_v3(self.stream.handle):
                raise ModelError("TensorRT execution failed")
            cuda.memcpy_dtoh_async(h_out, d_out, self.stream)
            self.stream.synchronize()
            return np.array(h_out, dtype=np.float32)
        finally:
            self._ctx.pop()

    def close(self) -> None:
        self._ctx.detach()


class TensorRTBackend(Backend):
    """Runs a TensorRT engine; an ``.onnx`` model is compiled through the engine cache first."""

    name = "tensorrt"

    def __init__(self, model_path: str | os.PathLike[str], *, device: int = 0,
                 session: _EngineSession | None = None, metadata: ModelMetadata | None = None) -> None:
        from . import cuda_device_count

        path = Path(model_path)
        if session is None:
            if cuda_device_count() == 0:  # before ANY TensorRT runtime call (segfault otherwise)
                raise BackendUnavailableError("the tensorrt backend needs a CUDA GPU; none found")
            engine_path, sidecar = _engine_for(path, device)
            metadata = ModelMetadata.from_dict(sidecar.get("metadata", {}))
            session = _EngineSession(engine_path.read_bytes(), device)
        super().__init__(metadata or ModelMetadata())
        self.path = path
        self.session = session
        self.profiles = session.profiles()
        if not self.profiles:
            raise EngineMismatchError(f"{path}: engine has no optimisation profile")
        self.max_batch = max(p.max[0] for p in self.profiles)

    def accepts_size(self, height: int, width: int) -> bool:
        return any(p.accepts_spatial(height, width) for p in self.profiles)

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        n, _, h, w = image.shape
        out = np.empty((n, 3, h, w), np.float32)
        for part in split_batch(n, self.max_batch):
            idx = select_profile(self.profiles, part.stop - part.start, h, w)
            out[part] = self.session.run(idx, image[part], mask[part])
        return out

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "engine": str(self.path),
                "profiles": [p.__dict__ for p in self.profiles]}

    def close(self) -> None:
        self.session.close()


def _engine_for(path: Path, device: int) -> tuple[Path, dict]:
    """``(engine_path, sidecar)`` for an ``.onnx`` (built once through the engine cache) or an
    ``.engine`` (loaded only when its sidecar matches the file)."""
    from ..export import EngineCache, EngineRequest, check_engine  # lazy: onnx helpers
    from ..export.onnx import load_onnx, onnx_precision

    if path.suffix.lower() == ".onnx":
        # strongly typed engines take their precision from the ONNX: build what the file holds
        precision = "fp16" if onnx_precision(load_onnx(path, check=False)) == "fp16" else "fp32"
        request = EngineRequest(precision=precision)
        cache = EngineCache()
        hit = cache.lookup(path, request)
        if hit is None:
            log.warning("building a %s TensorRT engine for %s (first use; cached in %s) ...",
                        precision, path.name, cache.root)
        return hit if hit is not None else cache.get_or_build(path, request)
    return path, check_engine(path)
