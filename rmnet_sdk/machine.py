"""Facts about this machine: library versions, backends, CPU model and features, GPUs.

``rmnet info`` prints them and ``rmnet bench`` records them beside every timing, so a report says
what it was measured on. They live here, below both commands, so that neither imports the other.
Reading them needs no model and no toolchain; nothing here fails when a library or tool is
missing: the fact is reported as absent instead.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from . import __version__

#: CPU features that decide which kernels ONNX Runtime / TensorFlow can use (report name ->
#: /proc/cpuinfo flags, any of which counts): AVX-512 VNNI and AVX-VNNI speed up INT8, BF16 and
#: AMX bf16 matmuls.
CPU_FEATURES: dict[str, tuple[str, ...]] = {
    "AVX2": ("avx2",),
    "AVX-512": ("avx512f",),
    "VNNI": ("avx512_vnni", "avx_vnni"),
    "BF16": ("avx512_bf16", "amx_bf16"),
    "AMX": ("amx_tile",),
}
#: /proc/cpuinfo flags worth listing in a report (the vector units inference kernels use).
_REPORTED_ISA = frozenset({"avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni",
                           "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"})
#: Libraries whose versions change the numbers (None in the report when not installed).
_LIBRARIES = ("numpy", "cv2", "onnxruntime", "onnx", "tensorrt", "tensorrt_rtx")


def machine_info() -> dict[str, object]:
    """SDK, Python and library versions, the platform, CUDA devices and which backends run here."""
    from .backends import available_backends, cuda_device_count

    info: dict[str, object] = {
        "rmnet_sdk": __version__, "python": platform.python_version(),
        "platform": platform.platform(), "cpu": platform.processor() or platform.machine(),
        "cuda_devices": cuda_device_count(),
        "backends": {k: ("available" if v is None else v) for k, v in available_backends().items()},
    }
    for mod in _LIBRARIES:
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # not installed (or broken): say so instead of failing
            info[mod] = None
    return info


def cpu_features(flags: set[str]) -> dict[str, bool]:
    """Which of :data:`CPU_FEATURES` a CPU with these ``/proc/cpuinfo`` flags has."""
    return {name: any(f in flags for f in names) for name, names in CPU_FEATURES.items()}


def cpu_details() -> dict[str, Any]:
    """Core counts (logical, and usable by this process), CPU model, vector ISA and features.

    The model, ISA and features come from ``/proc/cpuinfo`` and are absent where it is not
    readable (not Linux).
    """
    info: dict[str, Any] = {"logical_cores": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):  # Linux; macOS and Windows have no affinity API
        info["usable_cores"] = len(os.sched_getaffinity(0))
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if line.startswith("model name") and "model" not in info:
            info["model"] = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            info["isa"] = sorted(f for f in flags if f in _REPORTED_ISA)
            info["features"] = cpu_features(flags)
            break
    return info


def gpu_details() -> list[dict[str, str]]:
    """Name, driver and memory of every NVIDIA GPU ``nvidia-smi`` lists ([] without one)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return gpus


__all__ = ["CPU_FEATURES", "cpu_details", "cpu_features", "gpu_details", "machine_info"]
