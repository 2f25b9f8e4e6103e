"""Video: the static-mask fast path equals per-frame ``run``, per-frame masks, the ``rmnet video``
command (frame count, size, rate, exact pixels through lossless FFV1 / PNG), encoder fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import synthetic_photo

from rmnet_sdk import Inpainter, video_io
from rmnet_sdk import video as videolib
from rmnet_sdk.cli import main
from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.imaging import list_images, read_image, write_image
from rmnet_sdk.mask_generators import make_mask
from rmnet_sdk.masks import resize_hole_mask, write_mask
from rmnet_sdk.video import VideoInpainter

H, W, N_FRAMES, FPS = 48, 64, 10, 12.5


@pytest.fixture(scope="module")
def inpainter(toy_onnx: Path) -> Inpainter:
    return Inpainter(toy_onnx, backend="onnxruntime")


def _panning_frames(base: np.ndarray, n: int, step: int, size: tuple[int, int]) -> list[np.ndarray]:
    h, w = size
    return [np.ascontiguousarray(base[:h, i * step:i * step + w]) for i in range(n)]


@pytest.fixture(scope="module")
def frames(photos_dir: Path) -> list[np.ndarray]:
    """Ten 48x64 RGB frames panning across a real photo (downscaled)."""
    photo = read_image(sorted(photos_dir.glob("*.jpg"))[0])
    small = cv2.resize(photo, (W * 3, H * 3 * photo.shape[0] // photo.shape[1] + H),
                       interpolation=cv2.INTER_AREA)
    return _panning_frames(small, N_FRAMES, 4, (H, W))


@pytest.fixture(scope="module")
def hole() -> np.ndarray:
    hole = np.zeros((H, W), bool)
    hole[10:22, 20:40] = True   # a "watermark"
    hole[35:40, 5:12] = True
    return hole


def _write_video(path: Path, frames: list[np.ndarray], fourcc: str, fps: float = FPS) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps,
                             (frames[0].shape[1], frames[0].shape[0]))
    assert writer.isOpened(), f"this OpenCV cannot write {fourcc}"
    for f in frames:
        writer.write(np.ascontiguousarray(f[..., ::-1]))  # RGB -> BGR
    writer.release()
    return path


def _read_video(path: Path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(f[..., ::-1])
    cap.release()
    return out, fps


# -- the fast path --------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["crop", "resize", "original"])
@pytest.mark.parametrize("color", ["rgb", "bgr"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_static_mask_fast_path_equals_per_frame_run(inpainter: Inpainter, strategy: str,
                                                    color: str, batch_size: int) -> None:
    rng = np.random.default_rng(0)
    base = synthetic_photo(rng, 300, 420)
    clip = _panning_frames(base, 5, 5, (300, 400))
    hole = make_mask("mixed", (300, 400), 3)
    got = list(inpainter.run_video(clip, hole, color=color, strategy=strategy,
                                   batch_size=batch_size))
    assert len(got) == len(clip)
    for frame, out in zip(clip, got, strict=True):
        np.testing.assert_array_equal(out, inpainter.run(frame, hole, color=color,
                                                         strategy=strategy))
        np.testing.assert_array_equal(out[~hole], frame[~hole])


def test_static_mask_is_prepared_once(inpainter: Inpainter, monkeypatch) -> None:
    calls = []
    real = videolib.hole_boxes
    monkeypatch.setattr(videolib, "hole_boxes", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(1)
    clip = [synthetic_photo(rng, 200, 300) for _ in range(6)]
    hole = make_mask("boxes", (200, 300), 0)
    list(inpainter.run_video(clip, hole))
    assert len(calls) == 1
    # per-frame masks that repeat reuse the plan too; a new mask makes a new one
    list(inpainter.run_video(clip, [hole, hole, hole, ~hole, ~hole, hole]))
    assert len(calls) == 1 + 3


def test_per_frame_masks_equal_per_frame_run(inpainter: Inpainter) -> None:
    rng = np.random.default_rng(2)
    clip = [synthetic_photo(rng, 120, 160) for _ in range(4)]
    holes = [make_mask("irregular", (120, 160), s) for s in range(4)]
    got = list(inpainter.run_video(iter(clip), iter(holes), batch_size=2))
    for frame, hole, out in zip(clip, holes, got, strict=True):
        np.testing.assert_array_equal(out, inpainter.run(frame, hole, strategy="crop"))


def test_alpha_channel_passes_through(inpainter: Inpainter, frames, hole) -> None:
    rgba = [np.dstack([f, np.full(f.shape[:2], 77, np.uint8)]) for f in frames[:3]]
    got = list(inpainter.run_video(rgba, hole))
    for frame, out in zip(rgba, got, strict=True):
        np.testing.assert_array_equal(out, inpainter.run(frame, hole, strategy="crop"))
        assert (out[..., 3] == 77).all()


def test_mask_rules(inpainter: Inpainter, frames, hole) -> None:
    small = hole[::2, ::2]
    with pytest.raises(InvalidInputError, match="resize_mask"):
        list(inpainter.run_video(frames[:2], small))
    got = list(inpainter.run_video(frames[:2], small, resize_mask=True))
    grown = resize_hole_mask(small, (H, W))
    np.testing.assert_array_equal(got[0], inpainter.run(frames[0], grown, strategy="crop"))
    with pytest.raises(InvalidInputError, match="ended at frame 1"):
        list(inpainter.run_video(frames[:3], [hole]))
    with pytest.raises(InvalidInputError, match="frame 0"):
        list(inpainter.run_video([frames[0].astype(np.float32)], hole))
    with pytest.raises(InvalidInputError, match="batch_size"):
        VideoInpainter(inpainter, batch_size=0)


# -- rmnet video ----------------------------------------------------------------------------------

def _cli(tmp_path: Path, toy_onnx: Path, *args: str) -> int:
    return main(["video", *args, "--model", str(toy_onnx), "--backend", "onnxruntime"])


def test_cli_lossless_video_keeps_rate_size_and_exact_pixels(tmp_path, toy_onnx, inpainter,
                                                             frames, hole) -> None:
    src = _write_video(tmp_path / "in.mkv", frames, "FFV1")
    write_mask(tmp_path / "mask.png", hole)
    out = tmp_path / "out.mkv"
    assert _cli(tmp_path, toy_onnx, str(src), "--mask", str(tmp_path / "mask.png"),
                "-o", str(out)) == 0
    got, fps = _read_video(out)
    assert len(got) == N_FRAMES and fps == pytest.approx(FPS)
    assert got[0].shape == (H, W, 3)
    for frame, out_frame in zip(frames, got, strict=True):
        np.testing.assert_array_equal(out_frame, inpainter.run(frame, hole, strategy="crop"))
    # an existing output is kept unless asked
    assert _cli(tmp_path, toy_onnx, str(src), "--mask", str(tmp_path / "mask.png"),
                "-o", str(out)) == 2


def test_cli_frame_folders_and_per_frame_mask_video(tmp_path, toy_onnx, inpainter,
                                                    frames) -> None:
    for i, f in enumerate(frames):
        write_image(tmp_path / "frames" / f"{i:03d}.png", f)
    holes = [np.roll(make_mask("boxes", (H, W), 0), 3 * i, axis=1) for i in range(N_FRAMES)]
    mask_frames = [np.repeat(h[:, :, None].astype(np.uint8) * 255, 3, axis=2) for h in holes]
    masks = _write_video(tmp_path / "masks.mkv", mask_frames, "FFV1")
    assert _cli(tmp_path, toy_onnx, str(tmp_path / "frames"), "--mask", str(masks),
                "-o", str(tmp_path / "out")) == 0
    written = list_images(tmp_path / "out")
    assert len(written) == N_FRAMES
    for frame, h, path in zip(frames, holes, written, strict=True):
        np.testing.assert_array_equal(read_image(path), inpainter.run(frame, h, strategy="crop"))


def test_cli_lossy_container_keeps_count_size_rate(tmp_path, toy_onnx, frames, hole) -> None:
    src = _write_video(tmp_path / "in.avi", frames, "MJPG")
    write_mask(tmp_path / "mask.png", hole)
    out = tmp_path / "out.mp4"
    assert _cli(tmp_path, toy_onnx, str(src), "--mask", str(tmp_path / "mask.png"),
                "-o", str(out), "--stability") == 0
    got, fps = _read_video(out)
    assert len(got) == N_FRAMES and got[0].shape == (H, W, 3) and fps == pytest.approx(FPS)


def test_cli_mask_size_mismatch_needs_resize_mask(tmp_path, toy_onnx, frames, hole) -> None:
    src = _write_video(tmp_path / "in.mkv", frames, "FFV1")
    write_mask(tmp_path / "mask.png", hole[::2, ::2])
    args = [str(src), "--mask", str(tmp_path / "mask.png"), "-o", str(tmp_path / "o.mkv")]
    assert _cli(tmp_path, toy_onnx, *args) == 2
    assert not (tmp_path / "o.mkv").exists()
    assert not list(tmp_path.glob(".o.mkv*"))  # no temporary file left behind
    assert _cli(tmp_path, toy_onnx, *args, "--resize-mask") == 0


def test_missing_encoder_falls_back_with_a_warning(tmp_path, monkeypatch, caplog) -> None:
    real = video_io._try_open
    monkeypatch.setattr(video_io, "_try_open",
                        lambda path, code, fps, size: None if code == "avc1"
                        else real(path, code, fps, size))
    with caplog.at_level(logging.WARNING, logger="rmnet_sdk"), \
            video_io.FrameSink(tmp_path / "x.mp4", 10.0, (H, W)) as sink:
        sink.write(np.zeros((H, W, 3), np.uint8), "bgr")
    assert sink.codec == "mp4v"
    assert "avc1 is not available" in caplog.text
    monkeypatch.setattr(video_io, "_try_open", lambda *a: None)
    with pytest.raises(InvalidInputError, match=r"no video encoder for \.mp4.*tried avc1, mp4v"):
        video_io.FrameSink(tmp_path / "y.mp4", 10.0, (H, W))
    assert not (tmp_path / "y.mp4").exists() and not list(tmp_path.glob(".y.mp4*"))


def test_unknown_output_suffix_and_bad_sources(tmp_path) -> None:
    with pytest.raises(InvalidInputError, match="not one of"):
        video_io.FrameSink(tmp_path / "x.gif", 10.0, (H, W))
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(Exception, match="cannot decode video"):
        video_io.open_frames(tmp_path / "junk.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no image frames"):
        video_io.open_frames(tmp_path / "empty")


@pytest.mark.parametrize("color", ["rgba", "bgra"])
def test_four_channel_colors(inpainter: Inpainter, frames, hole, color) -> None:
    frame = np.dstack([frames[0], np.arange(H * W, dtype=np.uint8).reshape(H, W)])
    out = inpainter.run(frame, hole, color=color, strategy="crop")
    np.testing.assert_array_equal(out, inpainter.run(frame, hole, color=color[:3],
                                                     strategy="crop"))
    np.testing.assert_array_equal(out[..., 3], frame[..., 3])
    np.testing.assert_array_equal(out[~hole], frame[~hole])
    assert (out[hole][:, :3] != frame[hole][:, :3]).any()
    got = list(inpainter.run_video([frame], hole, color=color))
    np.testing.assert_array_equal(got[0], out)
    with pytest.raises(InvalidInputError, match="HxWx4"):
        inpainter.run(frames[0], hole, color=color)
    with pytest.raises(InvalidInputError, match="HxWx4"):
        list(inpainter.run_video([frames[0]], hole, color=color))


def test_a_video_inpainter_reused_with_another_static_mask(inpainter: Inpainter, frames,
                                                           hole) -> None:
    video = VideoInpainter(inpainter)
    first = list(video.run(frames[:2], hole))
    other = np.roll(hole, 20, axis=1)
    second = list(video.run(frames[:2], other))
    np.testing.assert_array_equal(first[0], inpainter.run(frames[0], hole, strategy="crop"))
    np.testing.assert_array_equal(second[0], inpainter.run(frames[0], other, strategy="crop"))
