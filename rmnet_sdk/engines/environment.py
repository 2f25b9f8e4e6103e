"""Which TensorRT builds engines here, and for which GPUs.

Flavours:

* ``tensorrt`` (module ``tensorrt``, >= 10): builds for the GPU it runs on, so it needs one.
* ``tensorrt-rtx`` (module ``tensorrt_rtx``): builds ahead of time, also without a GPU, for the
  compute capabilities it knows (sm75, sm80, sm86, sm89, sm120, sm121; **no sm87 Jetson Orin,
  no sm90 H100/H200**).

GPUs are probed with the CUDA driver API (:mod:`rmnet_sdk._cuda`), never through TensorRT: a
TensorRT runtime created without a device is unusable and the next call segfaults.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import re
from collections.abc import Sequence
from typing import Any

from .._cuda import GpuInfo, cuda_devices
from ..contract.cache_key import FLAVOURS, EngineRequest
from ..errors import BackendUnavailableError, InvalidInputError

log = logging.getLogger("rmnet_sdk.engines")

#: Python module of each flavour.
MODULES = {"tensorrt": "tensorrt", "tensorrt-rtx": "tensorrt_rtx"}
#: Compute capabilities TensorRT-RTX 1.x can target ahead of time.
RTX_TARGETS = ("sm75", "sm80", "sm86", "sm89", "sm120", "sm121")


@dataclasses.dataclass(frozen=True)
class TrtEnvironment:
    """The TensorRT module in use, its flavour/version, and the CUDA devices of this machine."""

    trt: Any
    flavour: str
    version: str
    gpus: tuple[GpuInfo, ...] = ()
    #: The CUDA device engines are built, timed and checked on (its GPU is part of the cache key).
    device: int = 0

    @property
    def gpu(self) -> GpuInfo | None:
        return self.gpus[self.device] if 0 <= self.device < len(self.gpus) else None

    @property
    def major(self) -> int:
        m = re.match(r"\d+", self.version)
        return int(m.group()) if m else 0


def _import(flavour: str) -> Any | None:
    try:
        module = importlib.import_module(MODULES[flavour])
    except Exception as e:  # ImportError, or OSError from a missing libnvinfer
        log.debug("cannot import %s: %s", MODULES[flavour], e)
        return None
    return module if hasattr(module, "Builder") and hasattr(module, "OnnxParser") else None


def detect_environment(flavour: str = "auto", *, trt_module: Any = None,
                       devices: Sequence[GpuInfo] | None = None, device: int = 0) -> TrtEnvironment:
    """Pick the TensorRT flavour (``auto``: full TensorRT, else TensorRT-RTX) and probe the GPUs.

    ``trt_module``/``devices`` inject a module and a device list (tests, or a caller that has
    already probed). ``device`` is the CUDA ordinal engines are built for and on. Raises
    :class:`BackendUnavailableError` when no usable builder is installed, and
    :class:`InvalidInputError` for a device that does not exist.
    """
    if flavour not in ("auto", *FLAVOURS):
        raise InvalidInputError(f"flavour must be auto or one of {FLAVOURS}, got {flavour!r}")
    if trt_module is not None:
        resolved = flavour if flavour != "auto" else (
            "tensorrt-rtx" if "rtx" in getattr(trt_module, "__name__", "") else "tensorrt")
        module = trt_module
    else:
        order = FLAVOURS if flavour == "auto" else (flavour,)
        module, resolved = None, ""
        for f in order:
            module = _import(f)
            if module is not None:
                resolved = f
                break
        if module is None:
            raise BackendUnavailableError(
                "no TensorRT builder found: install `tensorrt` (>= 10, on the GPU machine) or "
                "`tensorrt-rtx-cu13` (ahead-of-time builds, also without a GPU); "
                f"tried {', '.join(MODULES[f] for f in order)}")
    version = str(getattr(module, "__version__", "0"))
    gpus = tuple(devices) if devices is not None else tuple(cuda_devices())
    if device < 0 or (gpus and device >= len(gpus)):
        raise InvalidInputError(f"CUDA device {device} does not exist ({len(gpus)} found)")
    env = TrtEnvironment(module, resolved, version, gpus, int(device))
    if env.flavour == "tensorrt" and env.major < 10:
        raise BackendUnavailableError(f"TensorRT {version} is too old: rmnet-sdk needs >= 10 "
                                      "(strongly typed networks)")
    return env


def resolve_targets(env: TrtEnvironment, request: EngineRequest) -> tuple[str, ...]:
    """The compute capabilities the engine will be built for (``smXY`` strings)."""
    if env.flavour == "tensorrt":
        gpu = env.gpu
        if gpu is None:
            raise BackendUnavailableError(
                "full TensorRT builds engines on the GPU they are for, and this machine has no "
                "CUDA device; build on the target device, or use TensorRT-RTX (flavour "
                "'tensorrt-rtx') for an ahead-of-time build for RTX-class GPUs")
        wrong = [t for t in request.targets if t != gpu.sm]
        if wrong:
            raise InvalidInputError(
                f"full TensorRT builds for the local GPU ({gpu.name}, {gpu.sm}) and cannot "
                f"target {', '.join(wrong)}: build on that device (or with TensorRT-RTX)")
        return (gpu.sm,)
    cc_enum = env.trt.ComputeCapability
    available = [t for t in RTX_TARGETS if hasattr(cc_enum, t.upper())]
    if request.targets:
        missing = [t for t in request.targets if not hasattr(cc_enum, t.upper())]
        if missing:
            hint = ""
            if {"sm87", "sm90"} & set(missing):
                hint = (" (TensorRT-RTX has no sm87 Jetson Orin or sm90 H100/H200 target: build "
                        "those with full TensorRT on the device)")
            raise InvalidInputError(f"TensorRT-RTX {env.version} cannot target "
                                    f"{', '.join(missing)}; it knows {', '.join(available)}{hint}")
        return request.targets
    gpu = env.gpu
    if gpu is None:
        raise InvalidInputError(
            "this machine has no CUDA device: name the GPUs to build for ahead of time, e.g. "
            f"targets=('sm86', 'sm89') (CLI: --target sm86,sm89); TensorRT-RTX knows "
            f"{', '.join(available)}")
    if not hasattr(cc_enum, gpu.sm.upper()):
        raise BackendUnavailableError(f"TensorRT-RTX cannot build for this GPU ({gpu.name}, "
                                      f"{gpu.sm}); use full TensorRT on it")
    return (gpu.sm,)

