"""Frame sources and sinks for video: video files (OpenCV ``VideoCapture``/``VideoWriter``,
FFmpeg inside opencv-python-headless) and folders of image frames.

Frames travel in the order their container holds them: OpenCV decodes and encodes BGR, image
files are RGB. Every source and sink says which (``color``) so that the inpainting path never
converts a whole frame just to convert it back.

Encoders differ between OpenCV builds (the PyPI wheels have no H.264 encoder; ``avc1`` fails
to open), so a video sink tries a list of FourCCs for the container and says which one it fell
back to, never silently.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import masks as masklib
from ._fileio import atomic_path
from .errors import ImageReadError, InvalidInputError
from .imaging import IMAGE_SUFFIXES, list_images, read_image, write_image

log = logging.getLogger("rmnet_sdk")

#: Containers OpenCV writes, and the FourCCs tried for each, best first. ``FFV1`` is lossless
#: (exact pixels round-trip); ``MJPG``/``mp4v`` are lossy but play everywhere.
VIDEO_SUFFIXES: dict[str, tuple[str, ...]] = {
    ".mp4": ("avc1", "mp4v"),
    ".m4v": ("avc1", "mp4v"),
    ".mov": ("avc1", "mp4v"),
    ".avi": ("MJPG", "XVID", "FFV1"),
    ".mkv": ("FFV1", "MJPG"),
}
#: Frame rate assumed for a folder of frames (and for videos that do not store one).
DEFAULT_FPS = 25.0


def is_video_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class FrameSource:
    """Frames of a video file or an image folder, with their rate and channel order."""

    path: Path
    fps: float
    size: tuple[int, int]  # (height, width)
    count: int | None      # None when the container does not say
    color: str             # "bgr" (video files) or "rgb" (image files)
    _frames: Iterator[np.ndarray]

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._frames


def open_frames(path: str | os.PathLike[str], *, fps: float | None = None,
                max_pixels: int | None = None) -> FrameSource:
    """Open a video file or a folder of image frames (sorted by name) for reading.

    ``fps`` overrides the rate (a folder has none: :data:`DEFAULT_FPS`). Raises
    :class:`ImageReadError` for a file OpenCV cannot decode and :class:`InvalidInputError` for an
    empty source.
    """
    path = Path(path)
    if path.is_dir():
        files = list_images(path, recursive=False)
        if not files:
            raise InvalidInputError(f"no image frames ({', '.join(IMAGE_SUFFIXES)}) in {path}")
        first = read_image(files[0], max_pixels=max_pixels)

        def folder_frames() -> Iterator[np.ndarray]:
            yield first
            for f in files[1:]:
                frame = read_image(f, max_pixels=max_pixels)
                if frame.shape != first.shape:
                    raise InvalidInputError(
                        f"frame {f.name} is {frame.shape[0]}x{frame.shape[1]} (HxW) but the first "
                        f"frame is {first.shape[0]}x{first.shape[1]}: frames must share one size")
                yield frame

        return FrameSource(path, float(fps or DEFAULT_FPS), first.shape[:2], len(files), "rgb",
                           folder_frames())
    if not path.is_file():
        raise ImageReadError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    ok, first = cap.read() if cap.isOpened() else (False, None)
    if not ok:
        cap.release()
        raise ImageReadError(f"cannot decode video {path} (not a video, or a codec this OpenCV "
                             "build lacks)")
    rate = cap.get(cv2.CAP_PROP_FPS)
    if fps is None:
        if not (math.isfinite(rate) and rate > 0):
            log.warning("%s does not store a frame rate: assuming %.0f fps (set it with --fps)",
                        path, DEFAULT_FPS)
            rate = DEFAULT_FPS
        fps = rate
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))

    def video_frames() -> Iterator[np.ndarray]:
        try:
            frame = first
            while frame is not None:
                yield frame
                ok, frame = cap.read()
                if not ok:
                    frame = None
        finally:
            cap.release()

    return FrameSource(path, float(fps), first.shape[:2], count if count > 0 else None, "bgr",
                       video_frames())


def mask_sequence(path: str | os.PathLike[str], *, polarity: masklib.Polarity = "white-hole"
                  ) -> Iterator[np.ndarray]:
    """Per-frame hole masks from a folder of mask images or a mask video (white = hole)."""
    source = open_frames(path)
    for frame in source:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(
            frame, cv2.COLOR_BGR2GRAY if source.color == "bgr" else cv2.COLOR_RGB2GRAY)
        yield masklib.binarize(gray, polarity=polarity)


class FrameSink(contextlib.AbstractContextManager):
    """Writes frames to a video file (atomically: a temporary file renamed on success) or as
    numbered PNG files into a folder. ``codec`` is the FourCC actually used (``"png"`` for a
    folder)."""

    def __init__(self, path: str | os.PathLike[str], fps: float, size: tuple[int, int], *,
                 fourcc: str | None = None, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.fps, self.size, self.overwrite = float(fps), size, overwrite
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None
        self._atomic: contextlib.AbstractContextManager[Path] | None = None
        if is_video_path(self.path):
            self._atomic = atomic_path(self.path, overwrite=overwrite)
            tmp = self._atomic.__enter__()
            try:
                self._writer, self.codec = open_video_writer(tmp, self.path.suffix, fps, size,
                                                             fourcc=fourcc)
            except BaseException as e:
                self._atomic.__exit__(type(e), e, e.__traceback__)
                raise
        else:
            if self.path.suffix:
                raise InvalidInputError(
                    f"cannot write video {self.path}: {self.path.suffix!r} is not one of "
                    f"{sorted(VIDEO_SUFFIXES)} (or give a folder for PNG frames)")
            if fourcc is not None:
                raise InvalidInputError("--fourcc applies to video files, not a frame folder")
            self.path.mkdir(parents=True, exist_ok=True)
            self.codec = "png"

    def write(self, frame: np.ndarray, color: str) -> None:
        """Append one ``HxWx3`` uint8 frame whose channels are in ``color`` order."""
        if frame.shape[:2] != self.size:
            raise InvalidInputError(f"frame is {frame.shape[:2]} but the output is {self.size}")
        if self._writer is not None:
            self._writer.write(frame if color == "bgr" else np.ascontiguousarray(frame[..., ::-1]))
        else:
            rgb = frame if color == "rgb" else np.ascontiguousarray(frame[..., ::-1])
            write_image(self.path / f"frame_{self.frames:06d}.png", rgb, overwrite=self.overwrite)
        self.frames += 1

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        if self._writer is not None:
            self._writer.release()
        if self._atomic is not None:
            return self._atomic.__exit__(exc_type, exc, tb)
        return None


def _try_open(path: Path, fourcc: str, fps: float, size: tuple[int, int]) -> cv2.VideoWriter | None:
    """A VideoWriter for ``fourcc``, or None when this OpenCV build cannot encode it (OpenCV's
    own error lines about the failed probe are silenced: the fallback warning says it)."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps,
                                 (size[1], size[0]))
    finally:
        cv2.utils.logging.setLogLevel(level)
    if writer.isOpened():
        return writer
    writer.release()
    return None


def open_video_writer(path: Path, suffix: str, fps: float, size: tuple[int, int], *,
                      fourcc: str | None = None) -> tuple[cv2.VideoWriter, str]:
    """Open ``path`` with the first FourCC that works: ``fourcc`` if given, then the container's
    defaults (:data:`VIDEO_SUFFIXES`). Every fallback is logged as a warning naming the encoder
    that was missing; none working is an :class:`InvalidInputError`."""
    if fourcc is not None and len(fourcc) != 4:
        raise InvalidInputError(f"a FourCC has 4 characters, got {fourcc!r}")
    candidates = [c for c in ((fourcc,) if fourcc else ()) + VIDEO_SUFFIXES[suffix.lower()]]
    candidates = list(dict.fromkeys(candidates))
    missing: list[str] = []
    for code in candidates:
        writer = _try_open(path, code, fps, size)
        if writer is not None:
            if missing:
                log.warning("video encoder %s is not available in this OpenCV build; writing %s "
                            "with %s instead", "/".join(missing), suffix, code)
            return writer, code
        missing.append(code)
    raise InvalidInputError(
        f"no video encoder for {suffix} in this OpenCV build (tried {', '.join(candidates)}): "
        f"write {', '.join(s for s in VIDEO_SUFFIXES if s != suffix.lower())} or a folder of PNG "
        "frames instead")
