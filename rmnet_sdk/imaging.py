"""Image conversion: the one place for value ranges, resizing rules and image files.

Conventions (DESIGN.md): public images are ``HxWx3`` uint8 RGB; model tensors are float32 in
[-1, 1] (``x / 127.5 - 1``). Downscaling uses ``INTER_AREA`` (as the paper), upscaling and the
prediction's way back to full resolution use bilinear interpolation. The C++/CUDA twins in
``kernels/`` implement exactly these formulas and are tested against this module.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ._fileio import atomic_path
from .errors import ImageReadError, InvalidInputError

#: File suffixes treated as images when scanning folders.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

_SCALE = np.float32(127.5)
_ONE = np.float32(1.0)


def to_model_range(image: np.ndarray) -> np.ndarray:
    """uint8 ``[0, 255]`` -> float32 ``[-1, 1]`` (``x / 127.5 - 1``, computed in float32)."""
    return image.astype(np.float32) / _SCALE - _ONE


def from_model_range(x: np.ndarray) -> np.ndarray:
    """float ``[-1, 1]`` -> uint8, rounding half to even, clipping out-of-range values.

    Computed in float32 as ``(x + 1) * 127.5`` so the C++ twin (``nearbyintf``) matches exactly.
    """
    y = (np.asarray(x, dtype=np.float32) + _ONE) * _SCALE
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an ``HxWxC`` image to ``size = (height, width)``.

    ``INTER_AREA`` when neither side grows (averaging, no aliasing), bilinear otherwise.
    """
    h, w = size
    if image.shape[:2] == (h, w):
        return image.copy()
    interp = cv2.INTER_AREA if (h <= image.shape[0] and w <= image.shape[1]) else cv2.INTER_LINEAR
    out = cv2.resize(image, (w, h), interpolation=interp)
    if out.ndim == 2 and image.ndim == 3:  # cv2 drops a trailing singleton channel
        out = out[:, :, None]
    return out


def upsample_prediction(pred: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear (half-pixel centres) resize of a float ``hxwx3`` prediction to ``(H, W)``."""
    h, w = size
    pred = np.asarray(pred, dtype=np.float32)
    if pred.shape[:2] == (h, w):
        return pred
    return cv2.resize(pred, (w, h), interpolation=cv2.INTER_LINEAR)


def composite(image: np.ndarray, fill: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``I_out = I * M + fill * M_r``: known pixels are bit-exact copies of ``image``.

    ``image`` and ``fill`` are ``HxWxC`` of the same dtype, ``hole`` is ``HxW`` bool.
    """
    if image.shape[:2] != hole.shape or fill.shape != image.shape:
        raise InvalidInputError(
            f"composite needs image {image.shape}, fill of the same shape and an HxW hole mask; "
            f"got fill {fill.shape}, hole {hole.shape}"
        )
    return np.where(hole[:, :, None], fill, image)


def copy_where(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> None:
    """``dst[mask] = src[mask]`` in place (``mask`` ``HxW`` bool, images ``HxWxC``).

    OpenCV's masked copy is ~5x faster than NumPy boolean indexing on large images; views that
    OpenCV cannot wrap (e.g. the RGB channels of an RGBA array) fall back to ``np.copyto``.
    """
    m = mask.view(np.uint8) if mask.dtype == np.bool_ else mask.astype(np.uint8)
    try:
        res = cv2.copyTo(src, m, dst)
        if np.shares_memory(res, dst):
            return
    except cv2.error:
        pass
    np.copyto(dst, src, where=mask.astype(bool)[:, :, None])


def read_image(path: str | os.PathLike[str], *, keep_alpha: bool = False) -> np.ndarray:
    """Read an image file as uint8 RGB (or RGBA with ``keep_alpha``), EXIF orientation applied.

    Pillow is used because it applies EXIF orientation for every mode, alpha included (OpenCV's
    ``IMREAD_UNCHANGED`` ignores EXIF). Raises :class:`ImageReadError` for missing or undecodable
    files.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            mode = "RGBA" if (keep_alpha and has_alpha) else "RGB"
            if im.mode == "I;16" or im.mode == "I":
                im = im.point(lambda v: v / 256).convert("L")
            arr = np.asarray(im.convert(mode), dtype=np.uint8)
    except FileNotFoundError as e:
        raise ImageReadError(f"image file not found: {path}") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ImageReadError(f"cannot decode image {path}: {e}") from e
    return np.ascontiguousarray(arr)


def write_image(path: str | os.PathLike[str], image: np.ndarray, *, overwrite: bool = False,
                quality: int = 95) -> Path:
    """Write an ``HxW``, ``HxWx3`` (RGB) or ``HxWx4`` (RGBA) uint8 image atomically.

    The format follows the suffix; an existing file is only replaced with ``overwrite=True``.
    """
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise InvalidInputError(f"write_image expects uint8 HxW[xC], got {image.dtype} {image.shape}")
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise InvalidInputError(f"unknown image format for {path} (suffix {path.suffix!r})")
    with atomic_path(path, overwrite=overwrite) as tmp:
        im = Image.fromarray(image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image)
        kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
        im.save(tmp, format=fmt, **kwargs)
    return path


def list_images(folder: str | os.PathLike[str], *, recursive: bool = True) -> list[Path]:
    """Sorted image files under ``folder`` (by suffix; hidden files skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    pattern = "**/*" if recursive else "*"
    return sorted(
        p for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def tile_grid(rows: list[list[np.ndarray]], gutter: int = 2) -> np.ndarray:
    """Tile ``rows`` of equally sized uint8 ``HxWx3`` images into one image (white gutters)."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    grid = np.full((len(rows) * (h + gutter) - gutter, cols * (w + gutter) - gutter, 3), 255,
                   np.uint8)
    for i, r in enumerate(rows):
        for j, im in enumerate(r):
            y, x = i * (h + gutter), j * (w + gutter)
            grid[y:y + h, x:x + w] = im
    return grid
