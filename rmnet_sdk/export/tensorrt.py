"""ONNX -> TensorRT engine, for ``rmnet-export`` and existing imports.

The builder is runtime code in :mod:`rmnet_sdk.engines` (a TensorRT backend builds engines for
an ``.onnx`` itself); the request, cache key, profiles and sidecar are the artifact contract's
(:mod:`rmnet_sdk.contract`). The names below stay importable from here for existing code and
for :mod:`rmnet_sdk.export`.
"""

from __future__ import annotations

from .._cuda import GpuInfo, cuda_devices  # noqa: F401
from ..contract.cache_key import (  # noqa: F401
    FLAVOURS,
    HW_COMPAT_LEVELS,
    EngineRequest,
    normalize_target,
    target_to_cc,
)
from ..contract.precision import ENGINE_PRECISIONS as PRECISIONS  # noqa: F401
from ..contract.profiles import DEFAULT_PROFILE, Profile  # noqa: F401
from ..contract.sidecar import (  # noqa: F401
    SIDECAR_FORMAT,
    make_sidecar,
    read_sidecar,
    sidecar_path,
)
from ..engines.build import (  # noqa: F401
    build_engine,
    cache_key,
    cache_key_parts,
    check_engine,
    expected_sidecar_fields,
)
from ..engines.environment import (  # noqa: F401
    RTX_TARGETS,
    TrtEnvironment,
    detect_environment,
    resolve_targets,
)
from ..engines.onnx_source import OnnxSource, read_onnx_source  # noqa: F401
from ..engines.tensorrt_api import inspect_network, inspector_precision  # noqa: F401
