"""The native build tree: its ctest suite (C++ unit tests, C ABI round trip) and the camera example.

Both live in the CMake build tree of the installed extension (``rmnet_sdk._native.BUILD_DIR``,
``build/<wheel tag>`` for ``pip install -e .``); set ``RMNET_BUILD_DIR`` to use another one.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

try:
    from rmnet_sdk import _native  # noqa: E402
except ImportError:  # pragma: no cover - CI builds it
    if os.environ.get("CI"):
        raise
    pytest.skip("rmnet_sdk._native is not built: pip install --no-build-isolation -e .",
                allow_module_level=True)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def build_dir() -> Path:
    path = Path(os.environ.get("RMNET_BUILD_DIR", _native.BUILD_DIR))
    if not (path / "CTestTestfile.cmake").is_file():
        pytest.skip(f"the CMake build tree {path} is gone (a non-editable install deletes it); "
                    "set RMNET_BUILD_DIR to a build with RMNET_BUILD_TESTS=ON")
    return path


def test_ctest(build_dir):
    ctest = shutil.which("ctest")
    if ctest is None:
        pytest.skip("ctest is not on PATH")
    run = subprocess.run([ctest, "--test-dir", str(build_dir), "--output-on-failure"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tests passed" in run.stdout


def _cubin_architectures(path: str) -> set[int]:
    """SM numbers of the CUDA ELF images (cubins) embedded in a shared object's fatbins."""
    data = Path(path).read_bytes()
    found, at = set(), data.find(b"\x7fELF", 1)
    while at >= 0:
        # 64-bit ELF with e_machine EM_CUDA (190): the SM is byte 1 of e_flags.
        if data[at + 4] == 2 and struct.unpack_from("<H", data, at + 18)[0] == 190:
            found.add((struct.unpack_from("<I", data, at + 48)[0] >> 8) & 0xFF)
        at = data.find(b"\x7fELF", at + 1)
    return found


def test_cuda_kernels_compiled_for_turing_to_hopper_plus_ptx():
    """With nvcc present, the extension carries cubins for sm_75 (T4), 80 (A100), 86 (A10, RTX 30xx),
    87 (Orin), 89 (Ada) and 90 (Hopper), and PTX of 90 for newer GPUs (the bare "90" entry)."""
    if shutil.which("nvcc") is None and not Path("/usr/local/cuda/bin/nvcc").exists():
        pytest.skip("no nvcc on this machine: the CPU-only build is expected")
    assert _native.WITH_CUDA, "nvcc is installed but the extension was built without CUDA"
    archs = _native.CUDA_ARCHITECTURES.split(",")
    if archs == ["87", "89", "90"]:
        pytest.skip("this build tree predates the 75-90 default (its CMakeCache pins 87;89;90): "
                    "reconfigure it or build from a clean clone")
    assert archs == ["75-real", "80-real", "86-real", "87-real", "89-real", "90"]
    assert {75, 80, 86, 87, 89, 90} <= _cubin_architectures(_native.EXTENSION_FILE)


def test_installed_package_works_with_find_package(build_dir, tmp_path):
    """`cmake --install --component sdk`, then a C program finds rmnet with find_package(rmnet)."""
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not on PATH")
    prefix, consumer = tmp_path / "prefix", tmp_path / "consumer"
    steps = [
        [cmake, "--install", str(build_dir), "--component", "sdk", "--prefix", str(prefix)],
        [cmake, "-S", str(HERE / "cpp" / "consumer"), "-B", str(consumer),
         f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"],
        [cmake, "--build", str(consumer)],
        [str(consumer / "consumer")],
    ]
    for cmd in steps:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"{cmd}:\n{run.stdout}\n{run.stderr}"
    assert (prefix / "include" / "rmnet" / "rmnet_c.h").is_file()
    assert "RMNET_ERROR_MODEL_NOT_FOUND" in run.stdout
    if (build_dir / "cpp" / "examples" / "camera_inpaint").is_file():  # built with OpenCV videoio
        assert (prefix / "bin" / "camera_inpaint").is_file()


def test_ctest_registers_the_model_tests(build_dir):
    """The C ABI and C++ model tests are registered, not silently left out for want of a Python
    with numpy+onnx at configure time (a pip build configures before installing them)."""
    ctest = shutil.which("ctest")
    if ctest is None:
        pytest.skip("ctest is not on PATH")
    listing = subprocess.run([ctest, "--test-dir", str(build_dir), "-N"], capture_output=True,
                             text=True, timeout=60).stdout
    if _native.WITH_OPENCV:
        assert {"make_tiny_onnx", "c_api", "inpainter"} <= set(listing.split()), listing


@pytest.fixture(scope="module")
def camera_example(build_dir) -> Path:
    exe = build_dir / "cpp" / "examples" / "camera_inpaint"
    if not exe.is_file():
        pytest.skip("camera_inpaint was not built (needs OpenCV videoio)")
    return exe


def _write_video(path: Path, frames: int, h: int, w: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MJPG/avi here"
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(frames):
        frame = np.stack([(xx + 3 * i) % 256, (yy * 2) % 256, np.full((h, w), 90)], -1)
        writer.write(frame.astype(np.uint8))
    writer.release()


def test_camera_example_on_a_video_file(camera_example, tmp_path):
    from conftest import tiny_onnx_module

    tiny = tiny_onnx_module()
    model = tiny.build(tmp_path / "tiny.onnx")
    video, out = tmp_path / "in.avi", tmp_path / "out.avi"
    _write_video(video, frames=12, h=96, w=128)
    mask = np.zeros((96, 128), np.uint8)
    mask[30:60, 40:90] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)

    run = subprocess.run([str(camera_example), "--model", str(model), "--input", str(video),
                          "--mask", str(tmp_path / "mask.png"), "--output", str(out),
                          "--backend", "opencv", "--every", "5"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    reports = [line for line in run.stdout.splitlines() if line.startswith("frames")]
    assert len(reports) == 3  # after frames 5 and 10, then the last 2
    assert all(k in reports[0] for k in ("preprocess", "infer", "composite"))
    assert "done: 12 frames" in run.stdout

    cap = cv2.VideoCapture(str(out))
    count = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (96, 128, 3)
        count += 1
    assert count == 12


def test_camera_example_rejects_bad_arguments(camera_example, tmp_path):
    assert subprocess.run([str(camera_example)], capture_output=True).returncode == 2
    run = subprocess.run([str(camera_example), "--model", str(tmp_path / "missing.onnx"),
                          "--demo-mask", "--output", str(tmp_path / "o.avi")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "not found" in run.stderr
