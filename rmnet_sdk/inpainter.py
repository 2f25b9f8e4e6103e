"""``Inpainter``: fill the holes of images of any size with an R-MNet model.

The image-level work lives here once for every backend: input checks, colour handling, the
size strategies, batching, and the final composite that copies every known pixel bit-exactly
from the input. Backends only map NCHW tensors to a NCHW prediction.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from . import masks as masklib
from .backends import Backend, choose_backend, create_backend
from .errors import InvalidInputError
from .imaging import (
    copy_where,
    from_model_range,
    resize_image,
    to_model_inputs,
    upsample_prediction,
)
from .models import PRECISIONS, bundled_model, default_precision, resolve_model

Strategy = Literal["auto", "resize", "crop", "original"]
STRATEGIES: tuple[str, ...] = ("auto", "resize", "crop", "original")
#: ``auto`` runs images at full resolution up to this multiple of the model resolution (short
#: side), and resizes larger ones: on the validation photos (short side 384 = 1.5x the bundled
#: model's 256) full resolution scored +0.22 dB hole-PSNR / +0.01 hole-SSIM over resize; much
#: larger images would be far off the training scale (and slow), so they keep resize.
AUTO_ORIGINAL_MAX_SCALE = 2.0
#: Largest padded image (pixels) that ``original`` runs at full resolution. The network's
#: activations take about 0.6 KB per pixel on ONNX Runtime CPU (7.5 GB and 16 s measured for a
#: 4000x3000 photo), so 4 MP (2048x2048, ~2.6 GB) is the default budget: above it ``auto``
#: resizes (and logs that it did) and an explicit ``original`` raises InvalidInputError. Raise
#: it per Inpainter with ``max_original_pixels=`` (CLI: ``--max-original-pixels``).
ORIGINAL_MAX_PIXELS = 2048 * 2048
COLORS: tuple[str, ...] = ("rgb", "bgr", "rgba", "bgra")
#: Test-time ensembles: "flip" averages the prediction with that of the mirrored input.
ENSEMBLES: tuple[str, ...] = ("none", "flip")

log = logging.getLogger("rmnet_sdk")


@dataclass
class _Job:
    """One network input (model-space tensors) and where its prediction goes."""

    image: np.ndarray  # 3xhxw float32, masked
    mask: np.ndarray   # 1xhxw float32, 1 = hole
    paste: Callable[[np.ndarray], None]  # receives the hxwx3 float32 prediction


class Inpainter:
    """Inpaint images with an R-MNet model.

    Args:
        model: ``None`` for the bundled default model, or a path to ``.onnx``, ``.engine`` or
            ``.keras``.
        backend: ``"auto"`` (TensorRT if available with a GPU, else ONNX Runtime CUDA, else ONNX
            Runtime CPU), or one of ``"tensorrt"``, ``"onnxruntime"``, ``"onnxruntime-cuda"``,
            ``"keras"``, ``"native"``. An explicit backend that cannot run raises
            :class:`~rmnet_sdk.errors.BackendUnavailableError`; it never falls back silently.
        device: CUDA device index for GPU backends.
        strategy: how images whose size differs from the model's are handled: ``"auto"``
            (the default: ``"original"`` when the short side is at most twice the model
            resolution and the backend can run that size -- a TensorRT engine only runs the
            sizes of its optimisation profiles -- else ``"resize"``), ``"resize"`` (whole image to model resolution and
            back), ``"crop"`` (one model-resolution crop
            around each hole cluster, with context margin: large photos with small holes),
            ``"original"`` (full resolution, padded to a multiple of 16).
        resolution: model input size for ``resize``/``crop`` (default: the model's own).
        crop_margin: context pixels around each hole cluster for ``crop`` (``>= 0``).
        threads: CPU threads for ONNX Runtime and the native runtime, a positive int (default:
            all cores).
        precision: which file of the bundled model to run: ``"auto"`` (INT8 on ONNX Runtime
            CPU, fp16 on TensorRT, fp32 otherwise), ``"fp32"``, ``"fp16"`` or ``"int8"``. Only
            for ``model=None``: a model path runs in the precision its file holds.
        ensemble: ``"none"`` or ``"flip"`` (mean of the prediction and that of the mirrored
            input, at twice the inference time).
        max_original_pixels: the pixel budget of full-resolution inference (padded ``H*W``,
            default :data:`ORIGINAL_MAX_PIXELS`): above it ``auto`` resizes and ``original``
            raises :class:`~rmnet_sdk.errors.InvalidInputError`.
    """

    #: class defaults, so an Inpainter assembled around an injected backend (tests, benchmarks)
    #: behaves like a constructed one
    max_original_pixels: int = ORIGINAL_MAX_PIXELS
    ensemble: str = "none"

    def __init__(self, model: str | os.PathLike[str] | None = None, backend: str = "auto",
                 device: int = 0, strategy: Strategy = "auto", *, resolution: int | None = None,
                 crop_margin: int = 128, threads: int | None = None,
                 precision: str = "auto", ensemble: str = "none",
                 max_original_pixels: int = ORIGINAL_MAX_PIXELS) -> None:
        _check_choice("strategy", strategy, STRATEGIES)
        # checked before any model loads: a bad argument should not cost a session start
        self.crop_margin = _check_int("crop_margin", crop_margin, minimum=0)
        self.max_original_pixels = _check_int("max_original_pixels", max_original_pixels,
                                              minimum=1)
        if resolution is not None:
            _check_int("resolution", resolution, minimum=16)
        if threads is not None:
            _check_int("threads", threads, minimum=1)
        _check_choice("ensemble", ensemble, ENSEMBLES)
        self.ensemble = ensemble
        _check_choice("precision", precision, PRECISIONS)
        if model is None:
            if precision == "auto":
                precision = default_precision(choose_backend(backend, bundled_model()))
            self.model_path = bundled_model(precision)
        else:
            if precision != "auto":
                raise InvalidInputError(
                    "precision selects a file of the bundled model (model=None); a model path "
                    "runs in the precision its file holds: pass the file you want instead")
            self.model_path = resolve_model(model)
        self.backend: Backend = create_backend(backend, self.model_path, device=device,
                                               threads=threads)
        self.resolution = int(self.backend.resolution if resolution is None else resolution)
        if self.resolution < 16 or self.resolution % 16:
            raise InvalidInputError(f"resolution must be a positive multiple of 16, got {self.resolution}")
        self.strategy: str = strategy

    @property
    def metadata(self):
        return self.backend.metadata

    def __repr__(self) -> str:
        return (f"Inpainter(model={str(self.model_path)!r}, backend={self.backend.name!r}, "
                f"strategy={self.strategy!r}, resolution={self.resolution})")

    # -- public API -----------------------------------------------------------------------------
    def run(self, image, mask, *, color: str = "rgb", strategy: Strategy | None = None):
        """Inpaint ``image`` where ``mask`` is nonzero; returns an array like ``image``.

        ``image``: ``HxWx3`` uint8 (``HxWx4``: alpha passed through; ``HxW`` or ``HxWx1``:
        grayscale, filled via RGB and converted back with BT.601 luma), a batch ``NxHxWxC``, or
        a list of images of different sizes (then a list is returned). ``mask``: ``HxW`` (or
        ``HxWx1``) bool/uint8/float, nonzero = hole; for batches ``NxHxW`` or one ``HxW`` mask
        for every image; for lists a list (or one mask for all). Known pixels of the result are
        bit-exact copies of the input. ``color``: the channel order, ``"rgb"``/``"bgr"``, or
        ``"rgba"``/``"bgra"`` for 4-channel camera frames (alpha kept byte for byte).
        """
        _check_choice("color", color, COLORS)
        strategy = self.strategy if strategy is None else strategy
        _check_choice("strategy", strategy, STRATEGIES)
        images, masks_, kind = _split_inputs(image, mask)
        if color in ("rgba", "bgra"):  # camera surfaces: 4 channels, alpha passed through
            for i, img in enumerate(images):
                if img.ndim != 3 or img.shape[-1] != 4:
                    raise InvalidInputError(f"color={color!r} needs HxWx4 images; image"
                                            f"{f'[{i}]' if len(images) > 1 else ''} has shape "
                                            f"{img.shape}")
            color = color[:3]
        outputs = self._run_many(images, masks_, color, strategy)
        if kind == "single":
            return outputs[0]
        if kind == "batch":
            return np.stack(outputs)
        return outputs

    __call__ = run

    def run_video(self, frames, mask, *, color: str = "rgb", strategy: Strategy = "crop",
                  batch_size: int | None = None, stability=False, resize_mask: bool = False):
        """Iterate over ``frames`` inpainted: one static ``HxW`` mask (prepared once: boxes,
        mask tensors and strategy) or an iterable of per-frame masks. See
        :class:`rmnet_sdk.video.VideoInpainter` for the arguments."""
        from .video import VideoInpainter

        return VideoInpainter(self, strategy=strategy, batch_size=batch_size,
                              stability=stability, resize_mask=resize_mask).run(
                                  frames, mask, color=color)

    # -- internals ------------------------------------------------------------------------------
    def _run_many(self, images: list[np.ndarray], masks_: list[np.ndarray], color: str,
                  strategy: str) -> list[np.ndarray]:
        jobs: list[_Job] = []
        finishers = []
        for i, (img, m) in enumerate(zip(images, masks_, strict=True)):
            rgb, restore = _to_rgb(img, color, index=i)
            hole = masklib.as_hole_mask(m, name=f"mask[{i}]" if len(images) > 1 else "mask")
            if hole.shape != rgb.shape[:2]:
                raise InvalidInputError(
                    f"mask{f'[{i}]' if len(images) > 1 else ''} is {hole.shape[0]}x{hole.shape[1]} "
                    f"but its image is {rgb.shape[0]}x{rgb.shape[1]}: they must have the same size")
            fill = np.zeros_like(rgb)
            if hole.any():
                jobs.extend(self._jobs(rgb, hole, fill, strategy))
            else:
                # a mask that selects nothing is legal but almost always a mistake (a mask drawn
                # on an alpha channel, the wrong polarity): say so instead of a silent no-op
                warnings.warn(f"mask{f'[{i}]' if len(images) > 1 else ''} has no hole pixels: "
                              "its image is returned unchanged (wrong polarity? a mask painted "
                              "on the alpha channel?)", EmptyMaskWarning, stacklevel=3)
            finishers.append((img, hole, fill, restore))
        self._execute(jobs)
        return [restore(img, hole, fill) for img, hole, fill, restore in finishers]

    def resolve_strategy(self, height: int, width: int, strategy: str | None = None) -> str:
        """The strategy that runs for an image of this size (``auto`` resolved).

        Raises :class:`InvalidInputError` when an explicit ``original`` is over the pixel budget
        (:data:`ORIGINAL_MAX_PIXELS`); ``auto`` resizes such images instead, with a log line.
        """
        strategy = self.strategy if strategy is None else strategy
        padded = _padded_size(height, width)
        over_budget = padded[0] * padded[1] > self.max_original_pixels
        if strategy == "original" and over_budget:
            raise InvalidInputError(
                f"strategy='original' would run this {height}x{width} (HxW) image at full "
                f"resolution ({padded[0] * padded[1] / 1e6:.1f} MP padded), above the budget of "
                f"{self.max_original_pixels / 1e6:.1f} MP (about 0.6 KB of memory per pixel): "
                "raise it with Inpainter(max_original_pixels=...) (CLI: --max-original-pixels), "
                "or use strategy='resize' or 'crop'")
        if strategy != "auto":
            return strategy
        if min(height, width) > AUTO_ORIGINAL_MAX_SCALE * self.resolution:
            return "resize"
        if over_budget:
            log.warning("strategy 'auto': the %dx%d (HxW) image is over the full-resolution "
                        "budget of %.1f MP (max_original_pixels): running it resized to %d",
                        height, width, self.max_original_pixels / 1e6, self.resolution)
            return "resize"
        # a TensorRT engine built for fixed sizes cannot run the padded full-resolution image
        return "original" if self.backend.accepts_size(*padded) else "resize"

    def _jobs(self, rgb: np.ndarray, hole: np.ndarray, fill: np.ndarray,
              strategy: str) -> list[_Job]:
        strategy = self.resolve_strategy(*hole.shape, strategy)
        if strategy == "original":
            return [_original_job(rgb, hole, fill)]
        if strategy == "crop":
            boxes = hole_boxes(hole, self.resolution, self.crop_margin)
        else:
            boxes = [(0, 0, rgb.shape[1], rgb.shape[0])]
        return [_resized_job(rgb, hole, fill, box, self.resolution) for box in boxes]

    def _predict(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The backend's prediction for NCHW tensors; with ``ensemble="flip"`` the mean of the
        prediction and the un-flipped prediction of the mirrored input (twice the inference
        cost; see README for its measured gain)."""
        pred = self.backend.infer(image, mask)
        if self.ensemble == "flip":
            mirrored = self.backend.infer(np.ascontiguousarray(image[..., ::-1]),
                                          np.ascontiguousarray(mask[..., ::-1]))
            pred = 0.5 * (pred + mirrored[..., ::-1])
        return pred

    def _execute(self, jobs: list[_Job]) -> None:
        groups: dict[tuple[int, ...], list[_Job]] = {}
        for job in jobs:
            groups.setdefault(job.image.shape, []).append(job)
        for group in groups.values():
            step = self.backend.max_batch or len(group)
            for start in range(0, len(group), step):
                chunk = group[start:start + step]
                pred = self._predict(np.stack([j.image for j in chunk]),
                                     np.stack([j.mask for j in chunk]))
                for j, p in zip(chunk, pred, strict=True):
                    j.paste(p.transpose(1, 2, 0))


# -- strategies ---------------------------------------------------------------------------------

def _paste_region(fill: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int]):
    x0, y0, x1, y1 = box

    def paste(pred_hwc: np.ndarray) -> None:
        region_hole = hole[y0:y1, x0:x1]
        up = from_model_range(upsample_prediction(pred_hwc, (y1 - y0, x1 - x0)))
        copy_where(fill[y0:y1, x0:x1], up, region_hole)

    return paste


def _resized_job(rgb: np.ndarray, hole: np.ndarray, fill: np.ndarray,
                 box: tuple[int, int, int, int], res: int) -> _Job:
    """Crop ``box`` (the whole image for "resize"), bring it to ``res``², paste holes back."""
    x0, y0, x1, y1 = box
    small = resize_image(rgb[y0:y1, x0:x1], (res, res))
    small_hole = masklib.resize_hole_mask(hole[y0:y1, x0:x1], (res, res))
    image, mask = to_model_inputs(small, small_hole)
    return _Job(image, mask, _paste_region(fill, hole, box))


def _padded_size(h: int, w: int) -> tuple[int, int]:
    """The size ``original`` runs an ``h x w`` image at: the next multiples of 16."""
    return h + (-h) % 16, w + (-w) % 16


def _original_job(rgb: np.ndarray, hole: np.ndarray, fill: np.ndarray) -> _Job:
    """Full resolution, padded (reflect) to a multiple of 16; the padding counts as known."""
    h, w = hole.shape
    padded_h, padded_w = _padded_size(h, w)
    ph, pw = padded_h - h, padded_w - w
    padded = cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_REFLECT_101) if ph or pw else rgb
    padded_hole = np.pad(hole, ((0, ph), (0, pw)))
    image, mask = to_model_inputs(padded, padded_hole)

    def paste(pred_hwc: np.ndarray) -> None:
        copy_where(fill, from_model_range(pred_hwc[:h, :w]), hole)

    return _Job(image, mask, paste)


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


# -- input handling ---------------------------------------------------------------------------

class EmptyMaskWarning(UserWarning):
    """A mask has no hole pixels, so its image comes back unchanged."""


def _check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidInputError(f"{what} must be one of {list(choices)}, got {value!r}")


def _check_int(what: str, value: object, *, minimum: int) -> int:
    """``value`` if it is an integer ``>= minimum``; a float, string or bool is an error (a
    silent ``int()`` would turn 1.5 into 1 and "2" into 2, a bool into a count)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{what} must be an integer >= {minimum}, got {value!r} "
                                f"({type(value).__name__})")
    if value < minimum:
        raise InvalidInputError(f"{what} must be an integer >= {minimum}, got {value}")
    return int(value)


def _as_array(value: object, what: str) -> np.ndarray:
    """``np.asarray`` with a typed error for ragged nested lists (NumPy's is a ValueError)."""
    try:
        return np.asarray(value)
    except ValueError as e:
        raise InvalidInputError(f"{what} is not a rectangular array (a ragged list?): {e}") from e


def _split_inputs(image, mask) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """Normalise single / batch / list inputs to lists; remember which form to return."""
    if isinstance(image, (list, tuple)):
        if not image:
            raise InvalidInputError("image list is empty")
        images = [_as_array(im, f"image[{i}]") for i, im in enumerate(image)]
        if isinstance(mask, (list, tuple)):
            if len(mask) != len(images):
                raise InvalidInputError(f"{len(images)} images but {len(mask)} masks")
            return images, [_as_array(m, f"mask[{i}]") for i, m in enumerate(mask)], "list"
        return images, [_as_array(mask, "mask")] * len(images), "list"
    image = _as_array(image, "image")
    mask = _as_array(mask, "mask")
    if image.ndim == 4:
        n = image.shape[0]
        if n == 0:
            raise InvalidInputError("image batch is empty (N = 0)")
        if mask.ndim == 2 or (mask.ndim == 3 and mask.shape == (*image.shape[1:3], 1)):
            return list(image), [mask] * n, "batch"  # one mask for every image
        if mask.ndim in (3, 4) and mask.shape[0] == n:
            return list(image), list(mask), "batch"
        raise InvalidInputError(f"a batch of {n} images needs NxHxW masks or one HxW mask; "
                                f"got mask shape {mask.shape}")
    return [image], [mask], "single"


def _to_rgb(image: np.ndarray, color: str, *, index: int = 0):
    """Validate one image; return its RGB view and a function that builds the output."""
    what = f"image[{index}]" if index else "image"
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        hint = (" (float images: convert with (x * 255).round().astype(np.uint8))"
                if np.issubdtype(np.asarray(image).dtype, np.floating) else "")
        raise InvalidInputError(f"{what} must be uint8, got {np.asarray(image).dtype}{hint}")
    if image.size == 0:
        raise InvalidInputError(f"{what} is empty (shape {image.shape})")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        gray = image.reshape(image.shape[:2])
        rgb = np.repeat(gray[:, :, None], 3, axis=2)

        def restore(img, hole, fill):
            luma = cv2.cvtColor(fill, cv2.COLOR_RGB2GRAY).reshape(img.shape)
            out = img.copy()
            np.copyto(out, luma, where=hole.reshape(img.shape[:2] + (1,) * (img.ndim - 2)))
            return out

        return rgb, restore
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InvalidInputError(
            f"{what} must be HxWx3 (RGB/BGR), HxWx4 (with alpha) or HxW (grayscale) uint8; "
            f"got shape {image.shape}")
    rgb = image[:, :, :3]
    if color == "bgr":
        rgb = rgb[:, :, ::-1]
    rgb = np.ascontiguousarray(rgb)

    def restore(img, hole, fill):
        out = img.copy()
        filled = fill[:, :, ::-1] if color == "bgr" else fill
        copy_where(out[:, :, :3], np.ascontiguousarray(filled), hole)
        return out

    return rgb, restore
