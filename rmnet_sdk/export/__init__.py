"""rmnet_sdk.export: Keras generator -> ONNX (fp32, fp16) -> TensorRT engines, gated at each step.

::

    from rmnet_sdk.export import export_onnx, convert_fp16, build_engine, EngineRequest, EngineCache

    export_onnx("generator.keras", "rmnet.onnx")                 # fp32, dynamic N/H/W, parity-gated
    convert_fp16("rmnet.onnx", "rmnet_fp16.onnx")                # fully fp16, PSNR/overflow-gated
    build_engine("rmnet_fp16.onnx", "rmnet.engine",              # + rmnet.engine.json sidecar
                 EngineRequest(profiles=("1x256x256:1x256x256:4x1024x1024",),
                               targets=("sm86", "sm89")))        # TensorRT-RTX ahead of time
    path, sidecar = EngineCache().get_or_build("rmnet_fp16.onnx", EngineRequest())

Importing this package never imports TensorFlow, tf2onnx or TensorRT: the Keras side loads in
:func:`export_onnx`, TensorRT in :func:`detect_environment`/:func:`build_engine`.
"""

from __future__ import annotations

from ._common import SIZE_MULTIPLE, check_spatial_size, default_photos_dir
from .cache import EngineCache, default_cache_dir, file_lock
from .fp16 import (
    DEFAULT_ACTIVATION_LIMIT,
    DEFAULT_MIN_PSNR,
    FP16_MAX,
    Fp16Report,
    convert_fp16,
    fp16_gate,
    to_fp16,
)
from .onnx import (
    DEFAULT_OPSET,
    DEFAULT_PARITY_SIZES,
    DEFAULT_TOLERANCE,
    OnnxExportReport,
    assert_shape_agnostic,
    check_parity,
    constant_tensors,
    export_onnx,
    keras_to_onnx,
    load_onnx,
    onnx_precision,
    read_onnx_metadata,
    relax_dims,
    rewrite_conv_transpose,
    write_onnx_metadata,
)
from .tensorrt import (
    DEFAULT_PROFILE,
    RTX_TARGETS,
    EngineRequest,
    GpuInfo,
    Profile,
    TrtEnvironment,
    build_engine,
    cache_key,
    check_engine,
    cuda_devices,
    detect_environment,
    read_sidecar,
    sidecar_path,
)

__all__ = [
    "SIZE_MULTIPLE", "check_spatial_size", "default_photos_dir",
    "EngineCache", "default_cache_dir", "file_lock",
    "DEFAULT_ACTIVATION_LIMIT", "DEFAULT_MIN_PSNR", "FP16_MAX", "Fp16Report", "convert_fp16",
    "fp16_gate", "to_fp16",
    "DEFAULT_OPSET", "DEFAULT_PARITY_SIZES", "DEFAULT_TOLERANCE", "OnnxExportReport",
    "assert_shape_agnostic", "check_parity", "constant_tensors", "export_onnx", "keras_to_onnx",
    "load_onnx", "onnx_precision", "read_onnx_metadata", "relax_dims", "rewrite_conv_transpose",
    "write_onnx_metadata",
    "DEFAULT_PROFILE", "RTX_TARGETS", "EngineRequest", "GpuInfo", "Profile", "TrtEnvironment",
    "build_engine", "cache_key", "check_engine", "cuda_devices", "detect_environment",
    "read_sidecar", "sidecar_path",
]
