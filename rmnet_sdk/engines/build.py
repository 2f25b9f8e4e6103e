"""ONNX -> TensorRT engine + sidecar: one code path for TensorRT 10.x, 11.x and TensorRT-RTX.

This is runtime code: a TensorRT backend given an ``.onnx`` builds its engine here on first use
(through :mod:`rmnet_sdk.engines.cache`), as ``rmnet-export`` does ahead of time. It needs the
TensorRT Python package and ``onnx``; never TensorFlow or the export toolchain.

Each engine gets a sidecar ``<engine>.json`` (:func:`rmnet_sdk.contract.sidecar.make_sidecar`,
validated against the checked-in schema) that both runtimes check before they deserialise it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from .._cuda import cuda_device
from .._fileio import atomic_write_bytes, same_file
from ..contract import cache_key as keys
from ..contract.cache_key import EngineRequest
from ..contract.io import check_onnx_io
from ..contract.metadata import read_onnx_metadata
from ..contract.precision import onnx_io_dtype, onnx_precision
from ..contract.sidecar import check_engine as check_engine_file
from ..contract.sidecar import make_sidecar, sidecar_path
from ..errors import ExportError, InvalidInputError, ModelError
from .environment import TrtEnvironment, detect_environment, resolve_targets
from .onnx_source import OnnxSource, read_onnx_source
from .tensorrt_api import _build_serialized, _verify_on_gpu

log = logging.getLogger("rmnet_sdk.engines")


def cache_key_parts(onnx_sha256: str, request: EngineRequest, env: TrtEnvironment
                    ) -> dict[str, Any]:
    """Everything that decides an engine's bytes on this environment (see
    :func:`rmnet_sdk.contract.cache_key.cache_key_parts`)."""
    targets = resolve_targets(env, request)
    local = env.flavour == "tensorrt" or not request.targets
    return keys.cache_key_parts(onnx_sha256, request, flavour=env.flavour,
                                trt_version=env.version, targets=targets,
                                gpu_name=env.gpu.name if (local and env.gpu) else None)


def cache_key(onnx_sha256: str, request: EngineRequest, env: TrtEnvironment) -> str:
    return keys.cache_key_from_parts(cache_key_parts(onnx_sha256, request, env))


def expected_sidecar_fields(onnx_sha256: str, request: EngineRequest, env: TrtEnvironment
                            ) -> dict[str, Any]:
    """The sidecar fields an engine built for this request on this environment must have."""
    return keys.expected_sidecar_fields(cache_key_parts(onnx_sha256, request, env))


def check_engine(engine_path: str | os.PathLike[str],
                 expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sidecar of an engine whose file, sidecar schema and bytes check out, and whose
    sidecar has the ``expected`` fields (:func:`rmnet_sdk.contract.sidecar.check_engine`).

    Raises :class:`ModelNotFoundError` for a missing engine and :class:`EngineMismatchError`
    otherwise. No TensorRT or GPU is needed. Never load an engine that fails this.
    """
    return check_engine_file(engine_path, expected=expected)[1]


def build_engine(onnx_path: str | os.PathLike[str], engine_path: str | os.PathLike[str],
                 request: EngineRequest | None = None, *, env: TrtEnvironment | None = None,
                 timing_cache: str | os.PathLike[str] | None = None,
                 overwrite: bool = True, source: OnnxSource | None = None) -> dict[str, Any]:
    """Build ``engine_path`` (+ sidecar ``<engine>.json``) from an R-MNet ONNX file.

    The engine's precision comes from the ONNX types: ``request.precision="fp16"`` needs the fp16
    ONNX (:func:`rmnet_sdk.export.convert_fp16`). ``env`` defaults to
    :func:`detect_environment` with ``request.flavour``. ``timing_cache`` is loaded if present and
    saved after the build (full TensorRT only). ``source`` is the ONNX as already read and hashed
    (:func:`read_onnx_source`; the engine cache passes the one its key came from): those bytes are
    parsed, never the file again. Both files are written atomically, the engine first. Returns the
    sidecar. Errors: :class:`ModelError` (bad ONNX),
    :class:`InvalidInputError` (bad request), :class:`BackendUnavailableError` (no usable
    TensorRT/GPU), :class:`ExportError` (parse/build/verification failure).
    """
    import onnx

    request = request or EngineRequest()
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    if same_file(onnx_path, engine_path) or same_file(onnx_path, sidecar_path(engine_path)):
        raise InvalidInputError(f"refusing to overwrite the input {onnx_path}")
    if not overwrite and engine_path.exists():
        raise InvalidInputError(f"{engine_path} exists; pass overwrite=True (CLI: --force)")
    source = source or read_onnx_source(onnx_path)
    try:
        model = onnx.load_from_string(source.data)
        # External tensors are checked where they live (next to the file), not relative to the CWD.
        onnx.checker.check_model(str(source.path) if source.external else model)
    except Exception as e:  # protobuf DecodeError, onnx ValidationError, ...
        raise ModelError(f"{onnx_path} is not a valid ONNX model: {e}") from e
    check_onnx_io(model, str(onnx_path))
    have = onnx_precision(model)
    if have != request.precision:
        hint = (" convert it first (rmnet_sdk.export.convert_fp16 / rmnet-export --fp16)"
                if request.precision == "fp16" else " build fp32 engines from the fp32 ONNX")
        raise InvalidInputError(f"a {request.precision} engine needs a {request.precision} ONNX "
                                f"(precision comes from the ONNX types), {onnx_path} is {have}:"
                                + hint)
    io_dtype = onnx_io_dtype(model)
    metadata = read_onnx_metadata(model).to_dict()
    del model
    env = env or detect_environment(request.flavour)
    if request.flavour != "auto" and env.flavour != request.flavour:
        raise InvalidInputError(f"the request asks for {request.flavour}, the environment is "
                                f"{env.flavour}")
    targets = resolve_targets(env, request)
    onnx_sha = source.sha256
    parts = cache_key_parts(onnx_sha, request, env)  # the sidecar records what the key covers
    with cuda_device(env.device if env.flavour == "tensorrt" else None):
        blob, info = _build_serialized(env, source, request, targets,
                                       Path(timing_cache) if timing_cache else None)
        gpu_check = _verify_on_gpu(env, blob, request, targets)
    changed = source.external_changed()
    if changed:
        raise ExportError(f"the external data {', '.join(changed)} of {onnx_path} changed while "
                          "the engine was being built; build again")
    verification: dict[str, Any] = {
        "io": info["network"]["io"], "profiles_checked_on": "builder_config",
        "config": info["config"],
        "precision_check": {"method": "network_dtypes", "dtypes": info["network"]["dtypes"],
                            "layers": info["network"]["layers"]},
    }
    verification["deserialized"] = gpu_check.pop("deserialized")
    if verification["deserialized"]:
        verification["profiles_checked_on"] = "engine"
        if gpu_check.get("precision_check", {}).get("method") == "engine_inspector":
            verification["precision_check"] = gpu_check.pop("precision_check")
    verification.update(gpu_check)
    info["verification"] = verification
    info["io_dtype"] = io_dtype
    sidecar = make_sidecar(
        flavour=env.flavour, trt_version=env.version,
        compute_capabilities=parts["compute_capability"],
        aot_targets=list(targets) if env.flavour == "tensorrt-rtx" else [],
        gpu_name=parts["gpu_name"], precision=request.precision,
        profiles=request.profiles, onnx_sha256=onnx_sha, engine=blob, metadata=metadata,
        io_dtype=info["io_dtype"], hardware_compatibility=request.hardware_compatibility,
        optimization_level=int(request.optimization_level),
        workspace_mib=request.workspace_mib, cache_key=keys.cache_key_from_parts(parts),
        verification=info["verification"], build_seconds=info.get("build_seconds"))
    atomic_write_bytes(engine_path, blob, overwrite=overwrite)
    atomic_write_bytes(sidecar_path(engine_path), (json.dumps(sidecar, indent=1) + "\n").encode())
    log.info("wrote %s (%.1f MB) and %s", engine_path, len(blob) / 1e6, sidecar_path(engine_path))
    return sidecar

