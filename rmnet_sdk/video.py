"""Inpaint frame sequences: a mask prepared once for many frames, batching, stage timings.

A camera or a watermarked clip usually keeps one mask for thousands of frames. Everything that
depends only on the mask -- the strategy, the hole boxes (``crop``), the model-resolution mask
tensors, the padded mask (``original``) -- is computed once in :class:`PreparedMask`; per frame
only the crops around the holes are resized, inferred and pasted back. The arithmetic is the
image path's own (``Inpainter.run``): a frame comes out with the same pixels as
``Inpainter.run(frame, mask, strategy=...)``, known pixels bit-exact copies of the input.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import masks as masklib
from .errors import InvalidInputError
from .imaging import (
    copy_where,
    from_model_range,
    resize_image,
    to_model_inputs,
    upsample_prediction,
)
from .inpainter import STRATEGIES, EmptyMaskWarning, Inpainter
from .inputs import check_choice, check_int
from .jobs import hole_boxes, model_batches, padded_size
from .video_stability import TemporalStabilizer

#: Frames per inference call by default. Batches pay on the CPU too: 4 watermark crops per ONNX
#: Runtime INT8 call took 172-183 ms a frame against 222 ms one by one (benchmarks/results/
#: cpu-2core-epyc-avx2/video/bench.md); the price is 3 frames of latency (live cameras: 1).
DEFAULT_BATCH_SIZE = 4
FRAME_COLORS: tuple[str, ...] = ("rgb", "bgr", "rgba", "bgra")


def default_batch_size(inpainter: Inpainter) -> int:
    """Frames per inference call: :data:`DEFAULT_BATCH_SIZE`, capped by the backend's limit."""
    limit = inpainter.backend.max_batch
    return min(DEFAULT_BATCH_SIZE, limit) if limit else DEFAULT_BATCH_SIZE


@dataclass
class _Region:
    """One model input cut from every frame: a box, its hole, its model-resolution mask."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1
    hole: np.ndarray                # region's HxW bool hole (a view of the full mask)
    small_hole: np.ndarray          # res x res bool
    mask_tensor: np.ndarray         # 1 x res x res float32, 1 = hole
    span: tuple[slice, slice]       # rows, columns of the region that hold its holes


@dataclass
class _FrameJob:
    """One network input of one frame and where its prediction is pasted."""

    image: np.ndarray   # 3 x h x w float32
    mask: np.ndarray    # 1 x h x w float32 (shared between frames of one PreparedMask)
    out: np.ndarray     # the output frame (HxWxC uint8) the prediction is pasted into
    region: _Region | None  # None: full-resolution ("original") job


class PreparedMask:
    """A hole mask prepared for frames of one size: strategy resolved, boxes and mask tensors
    computed once.

    Args:
        inpainter: the :class:`Inpainter` whose model, resolution and crop margin are used.
        hole: ``HxW`` mask, nonzero = hole.
        strategy: ``"crop"`` (default: model-resolution crops around the holes, the cheap path
            for small holes in large frames), ``"resize"``, ``"original"`` or ``"auto"``
            (resolved once for the frame size).
    """

    def __init__(self, inpainter: Inpainter, hole: np.ndarray, strategy: str = "crop") -> None:
        check_choice("strategy", strategy, STRATEGIES)
        self.hole = masklib.as_hole_mask(hole)
        self.shape: tuple[int, int] = self.hole.shape
        self.empty = not self.hole.any()
        self.strategy = inpainter.resolve_strategy(*self.shape, strategy)
        res = self._res = inpainter.resolution
        self.regions: list[_Region] = []
        self._padded_mask: np.ndarray | None = None
        self._padded_hole: np.ndarray | None = None
        if self.empty:
            return
        if self.strategy == "original":
            ph, pw = padded_size(*self.shape)
            self._padded_hole = np.pad(self.hole, ((0, ph - self.shape[0]), (0, pw - self.shape[1])))
            self._padded_mask = self._padded_hole[None].astype(np.float32)
            return
        if self.strategy == "crop":
            boxes = hole_boxes(self.hole, res, inpainter.crop_margin)
        else:
            boxes = [(0, 0, self.shape[1], self.shape[0])]
        for x0, y0, x1, y1 in boxes:
            region_hole = self.hole[y0:y1, x0:x1]
            small = masklib.resize_hole_mask(region_hole, (res, res))
            rows, cols = np.flatnonzero(region_hole.any(axis=1)), np.flatnonzero(
                region_hole.any(axis=0))
            span = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
            self.regions.append(_Region((x0, y0, x1, y1), region_hole, small,
                                        small[None].astype(np.float32), span))

    def jobs(self, frame: np.ndarray, out: np.ndarray, color: str) -> list[_FrameJob]:
        """The network inputs of ``frame`` (``HxWx3``/``HxWx4`` uint8 in ``color`` order);
        their predictions go into ``out`` (a copy of ``frame``)."""
        rgb_order = slice(None) if color == "rgb" else slice(None, None, -1)
        if self._padded_mask is not None and self._padded_hole is not None:
            h, w = self.shape
            ph, pw = self._padded_mask.shape[1] - h, self._padded_mask.shape[2] - w
            base = frame[:, :, :3]
            padded = cv2.copyMakeBorder(base, 0, ph, 0, pw, cv2.BORDER_REFLECT_101) \
                if ph or pw else base
            image, _ = to_model_inputs(padded[:, :, rgb_order], self._padded_hole)
            return [_FrameJob(image, self._padded_mask, out, None)]
        jobs = []
        for r in self.regions:
            x0, y0, x1, y1 = r.box
            # channel order commutes with the per-channel resize: crop and resize in the frame's
            # order, flip only the small crop
            small = resize_image(frame[y0:y1, x0:x1, :3], (self._res, self._res))
            image, _ = to_model_inputs(small[:, :, rgb_order], r.small_hole)
            jobs.append(_FrameJob(image, r.mask_tensor, out, r))
        return jobs

    def paste(self, job: _FrameJob, pred_chw: np.ndarray, color: str) -> None:
        """Composite one prediction (``3xhxw`` RGB, model range) into its frame's holes."""
        pred = pred_chw.transpose(1, 2, 0)
        if color == "bgr":
            pred = pred[:, :, ::-1]
        if job.region is None:
            h, w = self.shape
            copy_where(job.out[:, :, :3], from_model_range(pred[:h, :w]), self.hole)
            return
        x0, y0, x1, y1 = job.region.box
        up = upsample_prediction(np.ascontiguousarray(pred), (y1 - y0, x1 - x0))
        # the upsampling needs the whole box (its borders shape the interpolation); the
        # conversion and the copy only the rows and columns that hold holes
        rows, cols = job.region.span
        copy_where(job.out[y0:y1, x0:x1, :3][rows, cols], from_model_range(up[rows, cols]),
                   job.region.hole[rows, cols])


@dataclass
class StageTimes:
    """Seconds spent per stage over all frames (for benchmarks and the progress bar)."""

    preprocess: float = 0.0
    inference: float = 0.0
    composite: float = 0.0
    stability: float = 0.0
    frames: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return {"preprocess": self.preprocess, "inference": self.inference,
                "composite": self.composite, "stability": self.stability, **self.extra}


class VideoInpainter:
    """Inpaint a sequence of frames with one :class:`Inpainter`.

    Args:
        inpainter: the model and its settings (backend, resolution, crop margin, ensemble).
        strategy: see :class:`PreparedMask` (default ``"crop"``).
        batch_size: frames per inference call (default :func:`default_batch_size`).
        stability: ``True`` (or a configured :class:`TemporalStabilizer`) blends each hole's fill
            with the previous frame's where the known pixels around it did not change; off by
            default (it trades a little lag for less flicker; see README for the measured effect).
        resize_mask: resize masks whose size differs from the frames' (holes never shrink)
            instead of raising :class:`InvalidInputError`.
    """

    def __init__(self, inpainter: Inpainter, *, strategy: str = "crop",
                 batch_size: int | None = None,
                 stability: bool | TemporalStabilizer = False, resize_mask: bool = False) -> None:
        check_choice("strategy", strategy, STRATEGIES)
        self.inpainter = inpainter
        self.strategy = strategy
        self.batch_size = (default_batch_size(inpainter) if batch_size is None
                           else check_int("batch_size", batch_size, minimum=1))
        if isinstance(stability, TemporalStabilizer):
            self.stabilizer: TemporalStabilizer | None = stability
        elif stability is True:
            self.stabilizer = TemporalStabilizer()
        elif stability is False or stability is None:
            self.stabilizer = None
        else:
            raise InvalidInputError(f"stability must be a bool or a TemporalStabilizer, got "
                                    f"{stability!r}")
        self.resize_mask = resize_mask
        self.times = StageTimes()
        self._plan: PreparedMask | None = None

    def prepare(self, mask: np.ndarray, shape: tuple[int, int]) -> PreparedMask:
        """The :class:`PreparedMask` for ``mask`` on frames of ``shape`` (HxW); reused while the
        mask stays the same, so per-frame masks that repeat cost nothing extra."""
        hole = masklib.as_hole_mask(mask)
        if hole.shape != shape:
            if not self.resize_mask:
                raise InvalidInputError(
                    f"mask is {hole.shape[0]}x{hole.shape[1]} (HxW) but the frames are "
                    f"{shape[0]}x{shape[1]}: pass resize_mask=True (CLI: --resize-mask) to resize "
                    "it (holes never shrink)")
            hole = masklib.resize_hole_mask(hole, shape)
        plan = self._plan
        if plan is not None and plan.shape == hole.shape and np.array_equal(plan.hole, hole):
            return plan
        plan = PreparedMask(self.inpainter, hole, self.strategy)
        if plan.empty:
            warnings.warn("the mask has no hole pixels: frames are returned unchanged (wrong "
                          "polarity?)", EmptyMaskWarning, stacklevel=3)
        self._plan = plan
        return plan

    def run(self, frames: Iterable[np.ndarray], mask: np.ndarray | Iterable[np.ndarray], *,
            color: str = "rgb") -> Iterator[np.ndarray]:
        """Yield each frame inpainted, in order.

        ``frames``: ``HxWx3`` (or ``HxWx4``, alpha passed through) uint8 arrays of one size,
        channels in ``color`` order (``"bgr"`` for OpenCV's ``VideoCapture``; ``"rgba"`` /
        ``"bgra"`` require 4 channels). ``mask``: one
        ``HxW`` array for every frame (prepared once), or an iterable of per-frame masks.
        """
        check_choice("color", color, FRAME_COLORS)
        channels = 4 if color in ("rgba", "bgra") else None
        color = color[:3]
        static = isinstance(mask, np.ndarray)
        mask_iter = None if static else iter(mask)
        batch: list[tuple[np.ndarray, np.ndarray, PreparedMask]] = []
        static_plan: PreparedMask | None = None
        for index, frame in enumerate(frames):
            frame = _check_frame(frame, index, channels)
            if static:
                # one check per frame size, not per frame: the mask cannot change
                if static_plan is None or static_plan.shape != frame.shape[:2]:
                    static_plan = self.prepare(mask, frame.shape[:2])
                plan = static_plan
            else:
                try:
                    m = next(mask_iter)
                except StopIteration:
                    raise InvalidInputError(f"the mask sequence ended at frame {index}: give one "
                                            "mask per frame (or one static mask)") from None
                plan = self.prepare(m, frame.shape[:2])
            batch.append((frame, frame.copy(), plan))
            if len(batch) >= self.batch_size:
                yield from self._finish(batch, color)
                batch = []
        if batch:
            yield from self._finish(batch, color)

    def _finish(self, batch: list[tuple[np.ndarray, np.ndarray, PreparedMask]],
                color: str) -> Iterator[np.ndarray]:
        t0 = time.perf_counter()
        jobs: list[tuple[PreparedMask, _FrameJob]] = []
        for frame, out, plan in batch:
            jobs.extend((plan, j) for j in plan.jobs(frame, out, color))
        t1 = time.perf_counter()
        self.times.preprocess += t1 - t0
        for chunk in model_batches(jobs, lambda item: item[1].image.shape,
                                   self.inpainter.backend.max_batch):
            t0 = time.perf_counter()
            pred = self.inpainter._predict(np.stack([j.image for _, j in chunk]),
                                           np.stack([j.mask for _, j in chunk]))
            t1 = time.perf_counter()
            for (plan, job), p in zip(chunk, pred, strict=True):
                plan.paste(job, p, color)
            self.times.inference += t1 - t0
            self.times.composite += time.perf_counter() - t1
        for frame, out, plan in batch:
            if self.stabilizer is not None and not plan.empty:
                t0 = time.perf_counter()
                self.stabilizer.apply(frame, plan.hole, out)
                self.times.stability += time.perf_counter() - t0
            self.times.frames += 1
            yield out


def _check_frame(frame: object, index: int, channels: int | None = None) -> np.ndarray:
    arr = np.asarray(frame)
    allowed = (channels,) if channels else (3, 4)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in allowed or arr.size == 0:
        raise InvalidInputError(f"frame {index} must be an HxWx{'/'.join(map(str, allowed))} "
                                f"uint8 array, got {arr.dtype} {arr.shape}")
    return arr
