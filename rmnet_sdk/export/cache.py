"""The TensorRT engine cache (kept importable here; it lives in :mod:`rmnet_sdk.engines.cache`)."""

from ..engines.cache import (  # noqa: F401
    DEFAULT_LOCK_TIMEOUT_S,
    EngineCache,
    default_cache_dir,
    file_lock,
    lock_timeout,
)
