"""``Inpainter``: fill the holes of images of any size with an R-MNet model.

The image-level work lives here once for every backend: input checks, colour handling, the
size strategies, batching, and the final composite that copies every known pixel bit-exactly
from the input. Backends only map NCHW tensors to a NCHW prediction.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Literal

import numpy as np

from . import masks as masklib
from .backends import Backend, choose_backend, create_backend
from .errors import InvalidInputError
from .inputs import EmptyMaskWarning, check_choice, check_int, split_inputs, to_rgb
from .jobs import ModelJob, hole_boxes, model_batches, original_job, padded_size, resized_job
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
        check_choice("strategy", strategy, STRATEGIES)
        # checked before any model loads: a bad argument should not cost a session start
        self.crop_margin = check_int("crop_margin", crop_margin, minimum=0)
        self.max_original_pixels = check_int("max_original_pixels", max_original_pixels,
                                              minimum=1)
        if resolution is not None:
            check_int("resolution", resolution, minimum=16)
        if threads is not None:
            check_int("threads", threads, minimum=1)
        check_choice("ensemble", ensemble, ENSEMBLES)
        self.ensemble = ensemble
        check_choice("precision", precision, PRECISIONS)
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
        check_choice("color", color, COLORS)
        strategy = self.strategy if strategy is None else strategy
        check_choice("strategy", strategy, STRATEGIES)
        images, masks_, kind = split_inputs(image, mask)
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
        jobs: list[ModelJob] = []
        finishers = []
        for i, (img, m) in enumerate(zip(images, masks_, strict=True)):
            rgb, restore = to_rgb(img, color, index=i)
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
        padded = padded_size(height, width)
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
              strategy: str) -> list[ModelJob]:
        strategy = self.resolve_strategy(*hole.shape, strategy)
        if strategy == "original":
            return [original_job(rgb, hole, fill)]
        if strategy == "crop":
            boxes = hole_boxes(hole, self.resolution, self.crop_margin)
        else:
            boxes = [(0, 0, rgb.shape[1], rgb.shape[0])]
        return [resized_job(rgb, hole, fill, box, self.resolution) for box in boxes]

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

    def _execute(self, jobs: list[ModelJob]) -> None:
        for chunk in model_batches(jobs, lambda j: j.image.shape, self.backend.max_batch):
            pred = self._predict(np.stack([j.image for j in chunk]),
                                 np.stack([j.mask for j in chunk]))
            for j, p in zip(chunk, pred, strict=True):
                j.paste(p.transpose(1, 2, 0))


__all__ = ["AUTO_ORIGINAL_MAX_SCALE", "COLORS", "ENSEMBLES", "ORIGINAL_MAX_PIXELS", "STRATEGIES",
           "EmptyMaskWarning", "Inpainter", "Strategy", "hole_boxes"]
