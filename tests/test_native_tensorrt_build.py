"""TensorRT backend compile/link check: -Wall -Wextra -Werror against TensorRT's public headers.

Runs only when pointed at the headers and a library, e.g. the NVIDIA/TensorRT repository's
``include/`` and ``libnvinfer_lean.so.11`` from the ``tensorrt-lean-cu13-libs`` wheel (see
cpp/README.md)::

    RMNET_TRT_INCLUDE_DIR=<TensorRT repo>/include \\
    RMNET_TRT_LIBRARY=<dir>/tensorrt_lean_libs/libnvinfer_lean.so.11 pytest tests/test_native_tensorrt_build.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_tensorrt_backend_compiles_with_werror_and_links(tmp_path):
    include, library = os.environ.get("RMNET_TRT_INCLUDE_DIR"), os.environ.get("RMNET_TRT_LIBRARY")
    if not (include and library):
        pytest.skip("set RMNET_TRT_INCLUDE_DIR and RMNET_TRT_LIBRARY to run the TensorRT build check")
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not on PATH")
    build = tmp_path / "build-trt"
    configure = subprocess.run(
        [cmake, "-S", str(REPO), "-B", str(build), "-DRMNET_WITH_TENSORRT=ON", "-DRMNET_WITH_CUDA=ON",
         "-DRMNET_WERROR=ON", "-DRMNET_WITH_PYTHON=OFF", "-DRMNET_BUILD_EXAMPLES=OFF",
         f"-DTensorRT_INCLUDE_DIR={include}", f"-DTensorRT_LIBRARY={library}"],
        capture_output=True, text=True, timeout=300)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    assert "TensorRT backend  ON" in configure.stdout
    compiled = subprocess.run([cmake, "--build", str(build), "--target", "test_inpainter", "-j2"],
                              capture_output=True, text=True, timeout=900)
    assert compiled.returncode == 0, compiled.stdout[-5000:] + compiled.stderr[-5000:]
    # Without a GPU the backend must refuse cleanly (cudaGetDeviceCount before any TensorRT call).
    run = subprocess.run([str(build / "tests" / "cpp" / "test_inpainter")], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tensorrt=ON" in run.stdout
