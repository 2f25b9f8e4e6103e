"""camera_inpaint (cpp/examples): the Python mask rules, the prepared static mask (crop) and
--stability, on lossless FFV1 clips so that pixels can be compared exactly.

The example lives in the CMake build tree of the installed extension (``RMNET_BUILD_DIR``
overrides it, as in test_native_build.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import require_native, tiny_onnx_module

from rmnet_sdk import Inpainter
from rmnet_sdk.masks import resize_hole_mask
from rmnet_sdk.metrics import flicker

_native = require_native()

H, W = 96, 128


@pytest.fixture(scope="module")
def camera(tmp_path_factory) -> tuple[Path, Path]:
    build = Path(os.environ.get("RMNET_BUILD_DIR", _native.BUILD_DIR))
    exe = build / "cpp" / "examples" / "camera_inpaint"
    if not exe.is_file():
        pytest.skip("camera_inpaint was not built (needs OpenCV videoio)")
    if "--stability" not in subprocess.run([str(exe)], capture_output=True, text=True).stderr:
        if os.environ.get("CI"):
            raise AssertionError(f"{exe} predates --stability")
        pytest.skip(f"{exe} predates --stability: rebuild it")
    tiny = tiny_onnx_module()
    return exe, tiny.build(tmp_path_factory.mktemp("camera") / "tiny.onnx")


def _write(path: Path, frames: list[np.ndarray]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 10.0, (W, H))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def _read(path: Path) -> list[np.ndarray]:
    cap, out = cv2.VideoCapture(str(path)), []
    while True:
        ok, f = cap.read()
        if not ok:
            return out
        out.append(f)


def _clip(n: int, noise: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    base = np.stack([xx * 2, yy * 2, 128 + 60 * np.sin(xx / 7.0)], -1).astype(np.float32)
    return [np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8)
            for _ in range(n)]


def _run(exe: Path, model: Path, video: Path, mask: Path, out: Path, *extra: str):
    return subprocess.run([str(exe), "--model", str(model), "--input", str(video), "--mask",
                           str(mask), "--output", str(out), "--fourcc", "FFV1", "--backend",
                           "opencv", "--size", "64", "--crop-margin", "16", *extra],
                          capture_output=True, text=True, timeout=120)


def test_static_mask_crop_matches_python_and_keeps_known_pixels(camera, tmp_path) -> None:
    exe, model = camera
    frames = _clip(4, 3.0)
    hole = np.zeros((H, W), bool)
    hole[20:34, 30:60] = True
    hole[70:80, 100:110] = True
    cv2.imwrite(str(tmp_path / "mask.png"), hole.astype(np.uint8) * 255)
    run = _run(exe, model, _write(tmp_path / "in.avi", frames), tmp_path / "mask.png",
               tmp_path / "out.avi")
    assert run.returncode == 0, run.stdout + run.stderr
    outs = _read(tmp_path / "out.avi")
    python = Inpainter(model, backend="onnxruntime", strategy="crop", resolution=64,
                       crop_margin=16)
    assert len(outs) == len(frames)
    for f, o in zip(frames, outs, strict=True):
        np.testing.assert_array_equal(o[~hole], f[~hole])
        assert np.abs(o.astype(int) - python.run(f, hole, color="bgr")).max() <= 2


def test_mask_size_mismatch_is_refused_unless_resized(camera, tmp_path) -> None:
    exe, model = camera
    frames = _clip(2, 0.0)
    small = np.zeros((H // 3, W // 3), np.uint8)
    small[10, 5:30] = 255  # a 1-pixel stroke: nearest-neighbour upscaling keeps it, but check
    cv2.imwrite(str(tmp_path / "small.png"), small)
    video = _write(tmp_path / "in.avi", frames)
    run = _run(exe, model, video, tmp_path / "small.png", tmp_path / "out.avi")
    assert run.returncode == 1 and "--resize-mask" in run.stderr
    assert not (tmp_path / "out.avi").exists()
    run = _run(exe, model, video, tmp_path / "small.png", tmp_path / "out.avi", "--resize-mask")
    assert run.returncode == 0, run.stderr
    grown = resize_hole_mask(small > 127, (H, W))
    out = _read(tmp_path / "out.avi")[0]
    np.testing.assert_array_equal(out[~grown], frames[0][~grown])
    assert (out[grown] != frames[0][grown]).any()


def test_stability_cuts_flicker_on_a_still_noisy_clip(camera, tmp_path) -> None:
    exe, model = camera
    frames = _clip(10, 4.0, seed=3)
    hole = np.zeros((H, W), bool)
    hole[30:60:6, 40:90] = True  # thin strokes: the tiny model's fill follows the noise there
    hole[30:32, 40:90] = True
    cv2.imwrite(str(tmp_path / "mask.png"), hole.astype(np.uint8) * 255)
    video = _write(tmp_path / "in.avi", frames)
    results = {}
    for name, extra in (("off", ()), ("on", ("--stability",))):
        run = _run(exe, model, video, tmp_path / "mask.png", tmp_path / f"{name}.avi", *extra)
        assert run.returncode == 0, run.stderr
        results[name] = _read(tmp_path / f"{name}.avi")
        for f, o in zip(frames, results[name], strict=True):
            np.testing.assert_array_equal(o[~hole], f[~hole])
    off, on = flicker(results["off"], hole), flicker(results["on"], hole)
    assert off["hole"] > 0.5, off  # there is flicker to remove
    assert on["hole"] * 2 <= off["hole"], (off, on)
