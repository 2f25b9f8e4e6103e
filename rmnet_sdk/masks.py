"""Hole masks at run time: the one place for mask conventions, mask files and resizing.

Conventions (DESIGN.md):

* A *public* mask is an ``HxW`` (or ``HxWx1``) bool/integer/float array, **nonzero = hole** (the
  pixels to fill), like ``cv2.inpaint`` and IOPaint. :func:`as_hole_mask` turns any of them into the
  internal form: an ``HxW`` C-contiguous **bool** array, ``True`` = hole.
* Mask *files* written by us: white (255) = hole. Third-party sets are often the other way round
  (QD-IMD stores holes as black); their loaders pass ``polarity="black-hole"``. Check the hole
  fraction of a downloaded set before trusting any polarity claim: the sources disagree.
* A hole never shrinks when resized (:func:`resize_hole_mask`); the integer formula there is shared
  with the C++/CUDA preprocessing kernel.

The synthetic mask generators and :class:`~rmnet_sdk.mask_generators.MaskSampler` (training,
evaluation, calibration) live in :mod:`rmnet_sdk.mask_generators`; inference never needs them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._fileio import atomic_path
from .errors import InvalidInputError

Polarity = Literal["white-hole", "black-hole"]
_POLARITIES = ("white-hole", "black-hole")

#: The NVIDIA/PConv hole-to-image area buckets (half-open ``(lo, hi]``); the R-MNet paper trains on
#: hole ratios in ``[0.01, 0.6]``.
HOLE_RATIO_BUCKETS: tuple[tuple[float, float], ...] = (
    (0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6),
)


# -- conversion and validation -------------------------------------------------------------------

def as_hole_mask(mask: np.ndarray, *, name: str = "mask") -> np.ndarray:
    """Validate a public mask and return it as a new ``HxW`` C-contiguous bool array (True = hole).

    Accepts ``HxW`` or ``HxWx1`` arrays of bool, any integer or float dtype; nonzero means hole.
    Everything else (other shapes, empty arrays, complex/object dtypes, NaN/Inf) raises
    :class:`InvalidInputError` naming ``name``, what was expected and what was given: a mask that
    silently meant something else would inpaint the wrong pixels.
    """
    expected = f"{name} must be an HxW or HxWx1 array of bool, integers or floats (nonzero = hole)"
    try:
        arr = np.asarray(mask)
    except Exception as e:  # ragged lists and the like
        raise InvalidInputError(f"{expected}; got an object numpy cannot convert ({e})") from e
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"{expected}; got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        hint = " (convert a colour mask to one channel first)" if arr.ndim == 3 else ""
        raise InvalidInputError(f"{expected}; got shape {arr.shape}{hint}")
    if arr.size == 0:
        raise InvalidInputError(f"{expected}; got an empty array of shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidInputError(f"{expected}; got a float mask containing NaN or Inf")
    if arr.dtype == np.bool_:
        return np.array(arr, dtype=np.bool_, order="C", copy=True)
    return np.ascontiguousarray(arr != 0)


def _check_polarity(polarity: str) -> None:
    if polarity not in _POLARITIES:
        raise InvalidInputError(f"polarity must be one of {_POLARITIES}, got {polarity!r}")


def binarize(gray: np.ndarray, threshold: float = 127, polarity: Polarity = "white-hole"
             ) -> np.ndarray:
    """Threshold a grayscale mask image into a bool hole mask.

    ``white-hole``: a value ``> threshold`` is a hole; ``black-hole``: a value ``<= threshold`` is.
    ``threshold`` is in the units of ``gray`` (127 for uint8 images; pass 0.5 for floats in [0, 1]).
    Binarising at the midpoint after any interpolation keeps soft (anti-aliased or resized) mask
    edges from turning into faint partial holes.
    """
    _check_polarity(polarity)
    arr = np.asarray(gray)
    if arr.dtype.kind not in "biuf" or arr.size == 0:
        raise InvalidInputError(f"binarize expects a non-empty uint8/float HxW array, got "
                                f"{arr.dtype} {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        raise InvalidInputError(f"binarize expects an HxW (or HxWx1) array, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidInputError("binarize got a float image containing NaN or Inf")
    hole = arr > threshold if polarity == "white-hole" else arr <= threshold
    return np.ascontiguousarray(hole)


def hole_ratio(hole: np.ndarray) -> float:
    """Fraction of hole pixels in ``[0, 1]`` (any public mask is accepted)."""
    h = as_hole_mask(hole, name="hole")
    return float(np.count_nonzero(h)) / h.size


def ratio_bucket(ratio: float) -> int | None:
    """Index of the :data:`HOLE_RATIO_BUCKETS` bucket ``(lo, hi]`` holding ``ratio``, else None.

    Evaluation reports group results by these buckets, as the PConv paper's tables do.
    """
    for i, (lo, hi) in enumerate(HOLE_RATIO_BUCKETS):
        if lo < ratio <= hi:
            return i
    return None


# -- files ---------------------------------------------------------------------------------------

def read_mask(path: str | os.PathLike[str], *, polarity: Polarity = "white-hole",
              threshold: float = 127, max_pixels: int | None = None) -> np.ndarray:
    """Read any image file as a bool ``HxW`` hole mask.

    The file is decoded by :func:`rmnet_sdk.imaging.read_image` with ``gray=True``: the same pixel
    limit (``max_pixels``; a mask can be a decompression bomb too), EXIF orientation (so a mask and
    its photo stay aligned) and 16-bit scaling as photos, alpha ignored. The 8-bit grey values are
    then binarised with :func:`binarize`. Missing or undecodable files, and files above the pixel
    limit, raise :class:`ImageReadError`.
    """
    from .imaging import read_image

    _check_polarity(polarity)
    gray = read_image(path, gray=True, max_pixels=max_pixels, what="mask")
    return binarize(gray, threshold, polarity)


def write_mask(path: str | os.PathLike[str], hole: np.ndarray, *,
               polarity: Polarity = "white-hole", overwrite: bool = False) -> Path:
    """Write a hole mask as an 8-bit PNG of 0/255 values, atomically.

    ``white-hole`` (ours) writes holes as 255; ``black-hole`` (QD-IMD style) as 0. The file must end
    in ``.png``: a lossy format would blur the edges into values that binarise differently. An
    existing file is only replaced with ``overwrite=True`` (else ``FileExistsError``).
    """
    from PIL import Image

    _check_polarity(polarity)
    h = as_hole_mask(hole, name="hole")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InvalidInputError(f"masks are written as PNG; {path} has suffix {path.suffix!r}")
    value = h if polarity == "white-hole" else ~h
    img = value.astype(np.uint8) * np.uint8(255)
    with atomic_path(path, overwrite=overwrite) as tmp:
        Image.fromarray(img, mode="L").save(tmp, format="PNG")
    return path


# -- geometry ------------------------------------------------------------------------------------

def _check_size(size: Sequence[int], what: str = "size") -> tuple[int, int]:
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"{what} must be (height, width), got {size!r}") from e
    if h <= 0 or w <= 0 or (h, w) != tuple(size):
        raise InvalidInputError(f"{what} must be two positive integers (height, width), got {size!r}")
    return h, w


def _any_along(hole: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Reduce ``axis`` of a bool array to ``n_out`` cells; a cell is True iff any of its sources is.

    Cell ``i`` covers sources ``[(i*N)//n, ((i+1)*N + n - 1)//n)``. Counts come from a cumulative
    sum whose unsigned wrap-around is harmless: a window shorter than the dtype's range has a
    zero count modulo 2**bits only if it is truly zero.
    """
    n_in = hole.shape[axis]
    i = np.arange(n_out, dtype=np.int64)
    lo = (i * n_in) // n_out
    hi = ((i + 1) * n_in + n_out - 1) // n_out
    longest = int((hi - lo).max())
    dtype = np.uint16 if longest < 2**16 else np.uint32 if longest < 2**32 else np.uint64
    shape = list(hole.shape)
    shape[axis] = n_in + 1
    csum = np.zeros(shape, dtype=dtype)
    body = csum[1:] if axis == 0 else csum[:, 1:]
    np.cumsum(hole, axis=axis, dtype=dtype, out=body)
    if axis == 0:
        return (csum[hi] - csum[lo]) != 0
    return (csum[:, hi] - csum[:, lo]) != 0


def resize_hole_mask(hole: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a hole mask to ``size = (h, w)`` so that **a hole never shrinks**.

    Output pixel ``(i, j)`` is a hole iff any source pixel in rows ``[y0, y1)`` x cols ``[x0, x1)``
    is, with ``y0 = (i*H)//h`` and ``y1 = ((i+1)*H + h - 1)//h`` (likewise ``x`` with ``W, w``).
    The exact integer formula is shared with the C++/CUDA preprocessing kernel. Every source pixel
    lies in at least one cell, so no hole pixel is ever lost (interpolating and thresholding
    would drop thin strokes when downscaling, and the network would then leave them unfilled).
    Works for down- and up-scaling and any ratio; returns a copy when the size is unchanged.
    """
    src = as_hole_mask(hole, name="hole")
    h, w = _check_size(size)
    if src.shape == (h, w):
        return src
    # "any" over a rectangle is separable: any over the rows, then any over the columns.
    rows = src if src.shape[0] == h else _any_along(src, h, axis=0)
    out = rows if src.shape[1] == w else _any_along(rows, w, axis=1)
    return np.ascontiguousarray(out)


# -- names that live in rmnet_sdk.mask_generators ------------------------------------------------

_GENERATOR_NAMES = frozenset({
    "GENERATORS", "MASK_KINDS", "MaskSampler", "boxes_mask", "irregular_mask", "make_mask",
    "mixed_mask", "strokes_mask", "text_mask", "thin_mask",
})


def __getattr__(name: str) -> Any:
    """Keep ``rmnet_sdk.masks.make_mask`` & co. working, importing the generators only on use.

    A plain import would load the generators (and their drawing code) into every inference
    process; looked up lazily, only code that asks for a generator pays for it.
    """
    if name in _GENERATOR_NAMES:
        import warnings

        from . import mask_generators

        warnings.warn(f"rmnet_sdk.masks.{name} is deprecated; import it from "
                      f"rmnet_sdk.mask_generators", DeprecationWarning, stacklevel=2)
        return getattr(mask_generators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Polarity",
    "HOLE_RATIO_BUCKETS",
    "as_hole_mask",
    "binarize",
    "hole_ratio",
    "ratio_bucket",
    "read_mask",
    "resize_hole_mask",
    "write_mask",
]
