"""Checks and normalisation of what users pass to ``Inpainter.run`` and ``VideoInpainter``.

Arguments are checked strictly (a float where a count belongs is an error, not a silent
``int()``), single images, batches and lists become one list form, and every image becomes an
RGB view plus a ``restore`` that writes the filled pixels back into the caller's layout
(grayscale, BGR, alpha kept).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .errors import InvalidInputError
from .imaging import copy_where


class EmptyMaskWarning(UserWarning):
    """A mask has no hole pixels, so its image comes back unchanged."""


def check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidInputError(f"{what} must be one of {list(choices)}, got {value!r}")


def check_int(what: str, value: object, *, minimum: int) -> int:
    """``value`` if it is an integer ``>= minimum``; a float, string or bool is an error (a
    silent ``int()`` would turn 1.5 into 1 and "2" into 2, a bool into a count)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{what} must be an integer >= {minimum}, got {value!r} "
                                f"({type(value).__name__})")
    if value < minimum:
        raise InvalidInputError(f"{what} must be an integer >= {minimum}, got {value}")
    return int(value)


def as_array(value: object, what: str) -> np.ndarray:
    """``np.asarray`` with a typed error for ragged nested lists (NumPy's is a ValueError)."""
    try:
        return np.asarray(value)
    except ValueError as e:
        raise InvalidInputError(f"{what} is not a rectangular array (a ragged list?): {e}") from e


def split_inputs(image, mask) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """Normalise single / batch / list inputs to lists; remember which form to return."""
    if isinstance(image, (list, tuple)):
        if not image:
            raise InvalidInputError("image list is empty")
        images = [as_array(im, f"image[{i}]") for i, im in enumerate(image)]
        if isinstance(mask, (list, tuple)):
            if len(mask) != len(images):
                raise InvalidInputError(f"{len(images)} images but {len(mask)} masks")
            return images, [as_array(m, f"mask[{i}]") for i, m in enumerate(mask)], "list"
        return images, [as_array(mask, "mask")] * len(images), "list"
    image = as_array(image, "image")
    mask = as_array(mask, "mask")
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


def to_rgb(image: np.ndarray, color: str, *, index: int = 0):
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
