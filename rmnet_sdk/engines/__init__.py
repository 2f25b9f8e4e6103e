"""TensorRT engines: build one from an R-MNet ONNX, cache it, check it.

Runtime code (the TensorRT backend builds an engine for an ``.onnx`` on first use, like ONNX
Runtime's TensorRT provider does), so it needs TensorRT and ``onnx`` but never TensorFlow or the
export toolchain; ``rmnet_sdk.export`` re-exports it for ahead-of-time builds. Modules:

* :mod:`.environment`: which TensorRT (full or RTX) and which GPUs;
* :mod:`.onnx_source`: the ONNX read and hashed once;
* :mod:`.tensorrt_api`: the only calls into the TensorRT builder API, and the build's checks;
* :mod:`.build`: :func:`build_engine` (engine + sidecar, written atomically);
* :mod:`.cache`: :class:`EngineCache`, content-addressed and safe across processes.

The request, cache key, profiles and sidecar are the contract's (:mod:`rmnet_sdk.contract`).
Importing this package imports no TensorRT: that happens in :func:`detect_environment`.
"""

from __future__ import annotations

from .build import build_engine, cache_key, cache_key_parts, check_engine, expected_sidecar_fields
from .cache import EngineCache, default_cache_dir, file_lock, lock_timeout
from .environment import RTX_TARGETS, TrtEnvironment, detect_environment, resolve_targets
from .onnx_source import OnnxSource, read_onnx_source

__all__ = [
    "build_engine", "cache_key", "cache_key_parts", "check_engine", "expected_sidecar_fields",
    "EngineCache", "default_cache_dir", "file_lock", "lock_timeout",
    "RTX_TARGETS", "TrtEnvironment", "detect_environment", "resolve_targets",
    "OnnxSource", "read_onnx_source",
]
