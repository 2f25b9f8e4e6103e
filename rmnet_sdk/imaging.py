"""Image conversion: the one place for value ranges, resizing rules and image files.

Conventions (DESIGN.md): public images are ``HxWx3`` uint8 RGB; model tensors are float32 in
[-1, 1] (``x / 127.5 - 1``). Downscaling uses ``INTER_AREA`` (as the paper), upscaling and the
prediction's way back to full resolution use bilinear interpolation. The C++/CUDA twins in
``kernels/`` implement exactly these formulas and are tested against this module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ._fileio import atomic_path
from .errors import ImageReadError, InvalidInputError

#: File suffixes treated as images when scanning folders.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

#: Largest image (width x height) :func:`read_image` decodes. A small PNG can declare a
#: 20000x20000 canvas (a decompression bomb: 1.2 GB as RGB) and exhaust memory before any check
#: sees the pixels, so the size is checked from the header first. The default is Pillow's own
#: refusal threshold (2 x ``PIL.Image.MAX_IMAGE_PIXELS``, ~179 MP). Raise or lower it per call
#: (``max_pixels=``), for the process (``RMNET_MAX_IMAGE_PIXELS``) or in the CLI
#: (``--max-image-pixels``); above Pillow's threshold raise ``PIL.Image.MAX_IMAGE_PIXELS`` too.
MAX_IMAGE_PIXELS = 178_956_970
MAX_IMAGE_PIXELS_ENV = "RMNET_MAX_IMAGE_PIXELS"
#: Formats that cannot store an alpha channel: RGBA images lose it when written to them.
_NO_ALPHA_FORMATS = ("JPEG",)

log = logging.getLogger("rmnet_sdk")

_SCALE = np.float32(127.5)
_ONE = np.float32(1.0)


def to_model_range(image: np.ndarray) -> np.ndarray:
    """uint8 ``[0, 255]`` -> float32 ``[-1, 1]`` (``x / 127.5 - 1``, computed in float32)."""
    return image.astype(np.float32) / _SCALE - _ONE


def to_model_inputs(rgb: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model tensors of one image: uint8 ``HxWx3`` RGB + bool ``HxW`` hole -> CHW, 1HW float32.

    The image is ``x / 127.5 - 1`` with the holes zeroed (``I * M``: hole content never reaches
    the network, so a model cannot learn to copy it and a gate cannot pass by reading it); the
    mask is ``1`` in the holes. Stack the results for a batch (``np.stack(...)``): every caller
    that feeds a model (inpainter, export gates, calibration, benchmarks) goes through here.
    """
    rgb = np.asarray(rgb)
    hole = np.asarray(hole, dtype=bool)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InvalidInputError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    if hole.shape != rgb.shape[:2]:
        raise InvalidInputError(f"hole mask {hole.shape} does not match the image {rgb.shape[:2]}")
    x = to_model_range(rgb)
    x[hole] = 0.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)), hole[None].astype(np.float32)


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


def max_image_pixels(max_pixels: int | None = None) -> int:
    """The pixel limit in force: ``max_pixels``, else ``$RMNET_MAX_IMAGE_PIXELS``, else
    :data:`MAX_IMAGE_PIXELS`."""
    if max_pixels is None:
        env = os.environ.get(MAX_IMAGE_PIXELS_ENV)
        if env is None:
            return MAX_IMAGE_PIXELS
        try:
            max_pixels = int(env)
        except ValueError:
            raise InvalidInputError(f"{MAX_IMAGE_PIXELS_ENV} must be an integer, got {env!r}") \
                from None
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) \
            or max_pixels < 1:
        raise InvalidInputError(f"the image pixel limit must be a positive integer, "
                                f"got {max_pixels!r}")
    return int(max_pixels)


@contextlib.contextmanager
def open_image(path: str | os.PathLike[str], *, what: str = "image",
               max_pixels: int | None = None) -> Iterator[Any]:
    """``with open_image(path) as im:`` a Pillow image whose size is within the pixel limit
    (:func:`max_image_pixels`), checked from the header before anything is decoded.

    Every failure -- missing file, undecodable data (also while the body decodes it), too many
    pixels -- is an :class:`ImageReadError` naming the file; photos and masks share this.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    limit = max_image_pixels(max_pixels)
    try:
        with warnings.catch_warnings():
            # the explicit limit below replaces Pillow's warning halfway to its own refusal
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(path)
    except Image.DecompressionBombError as e:  # over Pillow's own threshold
        raise ImageReadError(f"{what} {path} is above Pillow's decompression-bomb limit ({e}); "
                             "raise PIL.Image.MAX_IMAGE_PIXELS as well if the file is genuine") \
            from e
    except FileNotFoundError as e:
        raise ImageReadError(f"{what} file not found: {path}") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ImageReadError(f"cannot decode {what} {path}: {e}") from e
    with opened as im:
        if im.width * im.height > limit:
            raise ImageReadError(
                f"{what} {path} is {im.height}x{im.width} (HxW) = {im.width * im.height / 1e6:.1f}"
                f" MP, above the limit of {limit / 1e6:.1f} MP that guards against decompression "
                f"bombs: raise it with max_pixels=, {MAX_IMAGE_PIXELS_ENV} or the CLI's "
                "--max-image-pixels if the file is genuine")
        try:
            yield im
        except ImageReadError:
            raise
        except (OSError, ValueError, SyntaxError) as e:  # truncated data, bad chunks
            raise ImageReadError(f"cannot decode {what} {path}: {e}") from e


#: Pillow modes of 16-bit (or wider integer) grey images, read to 8 bits by :func:`_to_8bit`.
_WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def _to_8bit(im: Any) -> Any:
    """A 16-bit grey Pillow image as 8-bit ``L`` keeping the top byte (``v >> 8``, clipped to
    0..255 for 32-bit ``I``); any other image unchanged.

    The top byte is what Pillow itself keeps of 16-bit RGB files, so a 16-bit grey file and its
    RGB twin read the same. Reading the values through numpy handles every byte order (Pillow's
    ``point``/``convert`` do not support big-endian ``I;16B``, which 16-bit TIFFs can be).
    """
    if im.mode not in _WIDE_GREY_MODES:
        return im
    from PIL import Image

    values = np.asarray(im)  # uint16 in the file's byte order, or int32 for "I"
    if values.dtype.kind == "i":
        values = np.clip(values, 0, 0xFFFF)
    return Image.fromarray((values >> 8).astype(np.uint8))


def read_image(path: str | os.PathLike[str], *, keep_alpha: bool = False, gray: bool = False,
               max_pixels: int | None = None, what: str = "image") -> np.ndarray:
    """Read an image file as uint8 RGB (or RGBA with ``keep_alpha``, or ``HxW`` luma with
    ``gray``), EXIF orientation applied.

    Pillow is used because it applies EXIF orientation for every mode, alpha included (OpenCV's
    ``IMREAD_UNCHANGED`` ignores EXIF). 16-bit files keep their top byte (``v >> 8``). ``gray``
    is how mask files are read (:func:`rmnet_sdk.masks.read_mask`), so a mask decodes exactly as
    its photo would, alpha ignored; ``what`` names the file in error messages. Raises
    :class:`ImageReadError` for missing or undecodable files, and for images above the pixel limit
    (:func:`max_image_pixels`) before decoding them.
    """
    from PIL import ImageOps

    if gray and keep_alpha:
        raise InvalidInputError("read_image: gray=True reads one luma channel; it cannot keep alpha")
    with open_image(path, what=what, max_pixels=max_pixels) as im:
        im = ImageOps.exif_transpose(im)
        has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
        mode = "L" if gray else ("RGBA" if keep_alpha and has_alpha else "RGB")
        arr = np.asarray(_to_8bit(im).convert(mode), dtype=np.uint8)
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
    if fmt in _NO_ALPHA_FORMATS and image.ndim == 3 and image.shape[2] == 4:
        log.warning("%s: %s cannot store transparency; writing RGB without the alpha channel "
                    "(use .png or .webp to keep it)", path, fmt)
        image = np.ascontiguousarray(image[:, :, :3])
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
