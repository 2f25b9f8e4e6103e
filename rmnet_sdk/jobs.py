"""How an image becomes model-sized jobs, and how each job's prediction goes back.

The size strategies of :class:`~rmnet_sdk.inpainter.Inpainter` (and of video, which plans once
per static mask): ``resize`` and ``crop`` bring a box of the image to the model's square
resolution, ``original`` pads the whole image to the contract's size multiple. Each
:class:`ModelJob` carries its model tensors (:func:`rmnet_sdk.imaging.to_model_inputs`) and a
``paste`` that writes only hole pixels back, so known pixels stay bit-exact. The C++ runtime's
twins are ``makeJob``/``holeBoxes`` (``cpp/src/inpainter.cpp``, ``cpp/src/hole_boxes.cpp``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np

from . import masks as masklib
from .contract.io import round_up_to_multiple
from .imaging import (
    copy_where,
    from_model_range,
    resize_image,
    to_model_inputs,
    upsample_prediction,
)

T = TypeVar("T")


def model_batches(items: Sequence[T], shape: Callable[[T], tuple[int, ...]],
                  max_batch: int | None) -> Iterator[list[T]]:
    """``items`` in the chunks one inference call can take: a single input ``shape`` per chunk
    (tensors of different sizes cannot be stacked), at most ``max_batch`` items each (the
    backend's limit; ``None`` or 0: no limit). The image path and video share this."""
    groups: dict[tuple[int, ...], list[T]] = {}
    for item in items:
        groups.setdefault(shape(item), []).append(item)
    for group in groups.values():
        step = max_batch or len(group)
        for start in range(0, len(group), step):
            yield group[start:start + step]


@dataclass
class ModelJob:
    """One network input (model-space tensors) and where its prediction goes."""

    image: np.ndarray  # 3xhxw float32, masked
    mask: np.ndarray   # 1xhxw float32, 1 = hole
    paste: Callable[[np.ndarray], None]  # receives the hxwx3 float32 prediction


def paste_region(fill: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int]):
    x0, y0, x1, y1 = box

    def paste(pred_hwc: np.ndarray) -> None:
        region_hole = hole[y0:y1, x0:x1]
        up = from_model_range(upsample_prediction(pred_hwc, (y1 - y0, x1 - x0)))
        copy_where(fill[y0:y1, x0:x1], up, region_hole)

    return paste


def resized_job(rgb: np.ndarray, hole: np.ndarray, fill: np.ndarray,
                 box: tuple[int, int, int, int], res: int) -> ModelJob:
    """Crop ``box`` (the whole image for "resize"), bring it to ``res``², paste holes back."""
    x0, y0, x1, y1 = box
    small = resize_image(rgb[y0:y1, x0:x1], (res, res))
    small_hole = masklib.resize_hole_mask(hole[y0:y1, x0:x1], (res, res))
    image, mask = to_model_inputs(small, small_hole)
    return ModelJob(image, mask, paste_region(fill, hole, box))


def padded_size(h: int, w: int) -> tuple[int, int]:
    """The size ``original`` runs an ``h x w`` image at: the next multiples of the contract's."""
    return round_up_to_multiple(h), round_up_to_multiple(w)


def original_job(rgb: np.ndarray, hole: np.ndarray, fill: np.ndarray) -> ModelJob:
    """Full resolution, padded (reflect) to a multiple of 16; the padding counts as known."""
    h, w = hole.shape
    padded_h, padded_w = padded_size(h, w)
    ph, pw = padded_h - h, padded_w - w
    padded = cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_REFLECT_101) if ph or pw else rgb
    padded_hole = np.pad(hole, ((0, ph), (0, pw)))
    image, mask = to_model_inputs(padded, padded_hole)

    def paste(pred_hwc: np.ndarray) -> None:
        copy_where(fill, from_model_range(pred_hwc[:h, :w]), hole)

    return ModelJob(image, mask, paste)


def hole_boxes(hole: np.ndarray, res: int, margin: int) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` around hole clusters for the crop strategy.

    Each cluster's bounding box grows by ``margin`` per side and to at least ``res`` (native
    scale when the hole is small), is made square when the image allows (no distortion when
    resized to the model), shifted inward at borders (keeps context, IOPaint-style), and boxes
    that overlap are merged so no hole is inferred twice. Clusters are taken in the order of
    their bounding boxes (top, left, bottom, right), not in the labelling's order (which differs
    between OpenCV versions), so the C++ twin (``rmnet::holeBoxes``) finds the same boxes.
    """
    h, w = hole.shape
    n, _, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    boxes = sorted(((int(x), int(y), int(x + bw), int(y + bh)) for x, y, bw, bh, _ in stats[1:n]),
                   key=lambda b: (b[1], b[0], b[3], b[2]))

    def grow(b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = b
        side = max(x1 - x0 + 2 * margin, y1 - y0 + 2 * margin, res)
        bw, bh = min(side, w), min(side, h)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        nx0 = int(round(min(max(cx - bw / 2, 0), w - bw)))
        ny0 = int(round(min(max(cy - bh / 2, 0), h - bh)))
        return nx0, ny0, nx0 + bw, ny0 + bh

    boxes = [grow(b) for b in boxes]
    merged = True
    while merged:  # merge overlapping boxes until none overlap
        merged = False
        out: list[tuple[int, int, int, int]] = []
        for b in boxes:
            for k, o in enumerate(out):
                if b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]:
                    out[k] = grow((min(b[0], o[0]) + margin, min(b[1], o[1]) + margin,
                                   max(b[2], o[2]) - margin, max(b[3], o[3]) - margin))
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return boxes
