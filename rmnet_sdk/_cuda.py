"""CUDA device discovery without creating any CUDA or TensorRT context.

This is the check that must pass before a TensorRT runtime is constructed: on a machine without
a GPU the runtime object is unusable and the next call segfaults. cuda-python answers safely
(an error code, no crash) when there is no driver.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator

log = logging.getLogger("rmnet_sdk")


@dataclasses.dataclass(frozen=True)
class GpuInfo:
    name: str
    major: int
    minor: int

    @property
    def sm(self) -> str:
        return f"sm{self.major}{self.minor}"

    @property
    def cc(self) -> str:
        return f"{self.major}.{self.minor}"


def cuda_devices() -> list[GpuInfo]:
    """CUDA devices via cuda-python; ``[]`` without a driver, a device or cuda-python."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart  # cuda-python < 12.6
        except ImportError:
            return []
    try:
        err, count = cudart.cudaGetDeviceCount()
        if int(err) != 0 or not count:
            return []
        devices = []
        for i in range(int(count)):
            err, prop = cudart.cudaGetDeviceProperties(i)
            if int(err) != 0:
                continue
            name = prop.name.decode(errors="replace") if isinstance(prop.name, bytes) else str(prop.name)
            devices.append(GpuInfo(name.rstrip("\x00").strip(), int(prop.major), int(prop.minor)))
        return devices
    except Exception as e:  # a broken driver install must not crash the caller
        log.warning("CUDA device query failed: %s", e)
        return []


def cuda_device_count() -> int:
    return len(cuda_devices())


@contextlib.contextmanager
def cuda_device(device: int | None) -> Iterator[None]:
    """Make CUDA ``device`` current for this thread inside the block, then restore the previous one.

    TensorRT builds, times and deserialises on the calling thread's current device, so an engine for
    GPU 1 must be built with GPU 1 current. ``None``, or a machine where cuda-python cannot answer
    (no driver), switches nothing.
    """
    cudart = _runtime() if device is not None else None
    previous = None
    if cudart is not None:
        try:
            err, previous = cudart.cudaGetDevice()
            if int(err) != 0:
                previous = None
            elif int(previous) != device:
                (err,) = cudart.cudaSetDevice(device)
                if int(err) != 0:
                    raise RuntimeError(f"cudaSetDevice({device}) failed: {err}")
        except RuntimeError:
            raise
        except Exception as e:  # a broken driver install must not crash the caller
            log.debug("cannot select CUDA device %s: %s", device, e)
            previous = None
    try:
        yield
    finally:
        if cudart is not None and previous is not None and int(previous) != device:
            cudart.cudaSetDevice(int(previous))


def _runtime():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart  # cuda-python < 12.6
        except ImportError:
            return None
    return cudart
