"""Temporal stability for video inpainting: keep a hole's fill steady while its surroundings are.

The model fills each frame on its own, so sensor noise and compression noise on the known pixels
around a hole change the fill a little every frame, and the fill flickers although the scene is
still. :class:`TemporalStabilizer` keeps a running (exponential) average of each hole's fill and
uses it while the known pixels around that hole -- a ring of ``ring`` pixels -- stay the same:

* change of a hole's surroundings: the mean absolute difference between this frame and the
  previous one on the hole's ring, after a ``blur`` x ``blur`` box blur (which averages sensor
  noise away but keeps real motion);
* weight of the previous fill: ``strength`` while that change is at most ``still``, falling
  linearly to 0 at ``moving`` (a moving scene gets the fresh fill, no trail);
* scene cut: when the whole frame changed by more than ``cut`` on average (a 64-pixel-wide
  thumbnail), the history is dropped.

Only hole pixels are touched; known pixels stay bit-exact copies of the input. Hole pixels that
were not holes in the previous frame (a moving mask) start from their fresh fill.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InvalidInputError

_THUMB_WIDTH = 64


@dataclass
class _Layout:
    """What depends only on the hole mask: hole/ring pixels, their hole labels, a bounding box."""

    hole: np.ndarray          # HxW bool
    hole_idx: np.ndarray      # flat indices of hole pixels
    hole_label: np.ndarray    # component label (0..n-1) of each hole pixel
    ring_yx: tuple[np.ndarray, np.ndarray]  # ring pixels, relative to the box
    ring_label: np.ndarray    # component label of each ring pixel
    ring_count: np.ndarray    # ring pixels per component
    box: tuple[int, int, int, int]  # y0, y1, x0, x1: holes + ring + blur margin
    components: int


class TemporalStabilizer:
    """Blend each hole's fill with the previous frames' fill where its surroundings are still.

    Args:
        strength: weight of the running fill in a still scene, in ``[0, 1)`` (0.8: the fill
            averages over about 5 frames, the noise of an independent per-frame fill drops ~3x).
        still: ring change (0-255 levels, after the blur) up to which the full ``strength`` holds.
        moving: ring change at and above which the fresh fill is used alone.
        cut: mean frame change (thumbnail) above which the history resets (scene cut).
        ring: width in pixels of the known ring around each hole.
        blur: box-blur size used before measuring change (odd, >= 1).
    """

    def __init__(self, strength: float = 0.8, *, still: float = 2.0, moving: float = 6.0,
                 cut: float = 30.0, ring: int = 8, blur: int = 5) -> None:
        if not 0.0 <= strength < 1.0:
            raise InvalidInputError(f"strength must be in [0, 1), got {strength}")
        if not 0.0 <= still < moving:
            raise InvalidInputError(f"need 0 <= still < moving, got still={still}, moving={moving}")
        if cut <= 0:
            raise InvalidInputError(f"cut must be positive, got {cut}")
        if ring < 1 or blur < 1 or blur % 2 == 0:
            raise InvalidInputError(f"ring must be >= 1 and blur odd >= 1, got ring={ring}, "
                                    f"blur={blur}")
        self.strength, self.still, self.moving, self.cut = strength, still, moving, cut
        self.ring, self.blur = int(ring), int(blur)
        self.resets = 0  # scene cuts detected (for reports)
        self.reset()

    def reset(self) -> None:
        """Forget the history (the next frame's fill is used as it is)."""
        self._layout: _Layout | None = None
        self._prev_thumb: np.ndarray | None = None
        self._prev_blur: np.ndarray | None = None
        self._prev_hole: np.ndarray | None = None
        self._prev_base: np.ndarray | None = None
        self._prev_box: tuple[int, int, int, int] | None = None
        self._state: np.ndarray | None = None  # HxWx3 float32 running fill (valid on prev hole)

    def apply(self, frame: np.ndarray, hole: np.ndarray, out: np.ndarray) -> None:
        """Stabilise ``out`` (``frame`` with its ``hole`` filled) in place.

        ``frame`` and ``out`` are ``HxWxC`` uint8 (C = 3 or 4, only the first 3 are used),
        ``hole`` ``HxW`` bool; call once per frame, in order.
        """
        if not out.flags.c_contiguous:
            raise InvalidInputError("TemporalStabilizer.apply needs a C-contiguous output frame")
        h, w = hole.shape
        base = frame[:, :, :3]
        thumb = cv2.resize(base, (_THUMB_WIDTH, max(1, round(_THUMB_WIDTH * h / w))),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        if self._state is not None and (self._state.shape[:2] != (h, w) or float(
                np.abs(thumb - self._prev_thumb).mean()) > self.cut):
            self.resets += 1
            self.reset()
        layout = self._layout_for(hole)
        y0, y1, x0, x1 = layout.box
        blurred = cv2.blur(base[y0:y1, x0:x1], (self.blur, self.blur)).astype(np.float32)
        pixels = out.reshape(-1, out.shape[2])
        fresh = pixels[layout.hole_idx, :3].astype(np.float32)
        if self._state is None:
            self._state = np.zeros((h, w, 3), np.float32)
            blended = fresh
        else:
            prev_blur = self._prev_blur
            if prev_blur is None or self._prev_box != layout.box:
                assert self._prev_base is not None
                prev_blur = cv2.blur(self._prev_base[y0:y1, x0:x1],
                                     (self.blur, self.blur)).astype(np.float32)
            diff = np.abs(blurred[layout.ring_yx] - prev_blur[layout.ring_yx]).mean(axis=1)
            sums = np.bincount(layout.ring_label, weights=diff, minlength=layout.components)
            change = sums / np.maximum(layout.ring_count, 1)
            change[layout.ring_count == 0] = np.inf  # a hole with no known ring: no evidence
            ramp = np.clip((self.moving - change) / (self.moving - self.still), 0.0, 1.0)
            weight = (self.strength * ramp).astype(np.float32)[layout.hole_label]
            assert self._prev_hole is not None
            weight[~self._prev_hole.reshape(-1)[layout.hole_idx]] = 0.0
            previous = self._state.reshape(-1, 3)[layout.hole_idx]
            blended = weight[:, None] * previous + (1.0 - weight[:, None]) * fresh
        self._state.reshape(-1, 3)[layout.hole_idx] = blended
        pixels[layout.hole_idx, :3] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
        self._prev_thumb, self._prev_blur, self._prev_hole = thumb, blurred, layout.hole
        self._prev_box = layout.box
        # the previous frame is needed again only if the next mask moves (another box)
        self._prev_base = base.copy()

    def _layout_for(self, hole: np.ndarray) -> _Layout:
        layout = self._layout
        if layout is not None and layout.hole.shape == hole.shape and np.array_equal(
                layout.hole, hole):
            return layout
        hole = np.ascontiguousarray(hole, dtype=bool)
        h, w = hole.shape
        n, labels = cv2.connectedComponents(hole.view(np.uint8), connectivity=8)
        labels = labels.astype(np.float32)  # cv2.dilate has no int32; labels < 2**24 are exact
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * self.ring + 1,) * 2)
        ring_labels = cv2.dilate(labels, kernel)  # nearest-ish component: the largest label near
        ring = (ring_labels > 0) & ~hole
        ys, xs = np.nonzero(ring | hole)
        margin = self.blur // 2
        if ys.size:
            y0, y1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + 1 + margin, h)
            x0, x1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + 1 + margin, w)
        else:
            y0, y1, x0, x1 = 0, h, 0, w
        ry, rx = np.nonzero(ring)
        ring_label = ring_labels[ry, rx].astype(np.int64) - 1
        hole_idx = np.flatnonzero(hole)
        components = max(n - 1, 1)
        layout = _Layout(hole, hole_idx, labels.reshape(-1)[hole_idx].astype(np.int64) - 1,
                         (ry - y0, rx - x0), ring_label,
                         np.bincount(ring_label, minlength=components), (y0, y1, x0, x1),
                         components)
        self._layout = layout
        return layout
