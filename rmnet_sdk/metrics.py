"""Image-quality metrics: the one place for PSNR, SSIM, MAE and FID.

Training validation, evaluation and benchmarks all import this module, so their numbers agree.
Images are ``HxWx3`` (or ``HxW``) **uint8** arrays, data range 255. Each metric takes an optional
``hole`` mask (any public mask, nonzero = hole) restricting it to the hole pixels; a hole mask
with no hole pixels gives ``nan`` for that metric (nothing to measure) rather than an error, so a
batch average can skip it with ``np.nanmean``.

Definitions (research/inpainting_anchors.md §3.4):

* PSNR ``= 20*log10(255 / RMSE)``, the MSE pooled over the selected pixels and all channels;
  identical images give ``inf``.
* MAE: mean absolute error on the 0-255 scale (divide by 2.55 for percent).
* SSIM: Wang et al. 2004 — Gaussian window sigma 1.5 (11 taps, truncate 3.5), K1 0.01, K2 0.03,
  population covariance, per channel then averaged. The whole-image value equals scikit-image's
  ``structural_similarity(a, b, channel_axis=-1, data_range=255, gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False)``: reflect borders, then the mean over the map with a
  5-pixel border cropped. The hole value averages the *same* map (computed on the whole image)
  over the hole pixels, border pixels included (a hole at the border still counts).
* FID: Fréchet distance between Gaussian fits of Inception features (:func:`fid`).
* Flicker (video): the mean absolute frame-to-frame difference inside the hole, divided by the
  same measure on the known ring around it (:func:`flicker`).

scikit-image and SciPy are test-only dependencies; this module needs NumPy and OpenCV (and
ONNX Runtime for :func:`fid`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from .errors import InvalidInputError, ModelNotFoundError
from .masks import as_hole_mask

DATA_RANGE = 255.0

# SSIM constants (Wang et al. 2004; skimage's gaussian_weights=True settings).
_SSIM_SIGMA = 1.5
_SSIM_TRUNCATE = 3.5
_SSIM_RADIUS = int(_SSIM_TRUNCATE * _SSIM_SIGMA + 0.5)  # 5, as scipy.ndimage computes it
SSIM_WIN_SIZE = 2 * _SSIM_RADIUS + 1  # 11
_K1, _K2 = 0.01, 0.03


def _gaussian_kernel() -> np.ndarray:
    x = np.arange(-_SSIM_RADIUS, _SSIM_RADIUS + 1, dtype=np.float64)
    k = np.exp(-0.5 / (_SSIM_SIGMA * _SSIM_SIGMA) * x * x)
    return k / k.sum()


_KERNEL = _gaussian_kernel()


# -- validation ----------------------------------------------------------------------------------

def _check_pair(a: np.ndarray, b: np.ndarray, hole: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    a, b = np.asarray(a), np.asarray(b)
    for name, x in (("a", a), ("b", b)):
        if x.dtype != np.uint8:
            raise InvalidInputError(f"metrics expect uint8 images (data range 255); {name} is "
                                    f"{x.dtype}")
        if not (x.ndim == 2 or (x.ndim == 3 and x.shape[2] == 3)) or x.size == 0:
            raise InvalidInputError(f"metrics expect non-empty HxWx3 (or HxW) images; {name} has "
                                    f"shape {x.shape}")
    if a.shape != b.shape:
        raise InvalidInputError(f"metrics compare images of the same shape; got {a.shape} and "
                                f"{b.shape}")
    if hole is not None:
        hole = as_hole_mask(hole, name="hole")
        if hole.shape != a.shape[:2]:
            raise InvalidInputError(f"hole mask is {hole.shape} but the images are "
                                    f"{a.shape[:2]}")
    return a, b, hole


def _select(x: np.ndarray, hole: np.ndarray | None) -> np.ndarray:
    return x if hole is None else x[hole]


def _psnr_from_sq(sq: np.ndarray) -> float:
    if sq.size == 0:
        return float("nan")
    mse = float(np.mean(sq, dtype=np.float64))
    if mse == 0.0:
        return float("inf")
    return 10.0 * math.log10(DATA_RANGE * DATA_RANGE / mse)


def _mean_or_nan(x: np.ndarray) -> float:
    return float(np.mean(x, dtype=np.float64)) if x.size else float("nan")


# -- metrics -------------------------------------------------------------------------------------

def psnr(a: np.ndarray, b: np.ndarray, hole: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB, ``20*log10(255 / RMSE)``; ``inf`` for identical images.

    With ``hole``, the MSE is taken over the hole pixels (all channels) only; ``nan`` if there
    are none.
    """
    a, b, hole = _check_pair(a, b, hole)
    diff = a.astype(np.float64) - b.astype(np.float64)
    return _psnr_from_sq(_select(diff * diff, hole))


def mae(a: np.ndarray, b: np.ndarray, hole: np.ndarray | None = None) -> float:
    """Mean absolute error on the 0-255 scale (over the hole pixels with ``hole``; ``nan`` if none)."""
    a, b, hole = _check_pair(a, b, hole)
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return _mean_or_nan(_select(diff, hole))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The per-pixel SSIM map (float64, same shape as the images), reflect-padded borders.

    Matches scikit-image's ``full=True`` map for the settings in the module docstring. Images
    must be at least 11x11 (the window).
    """
    a, b, _ = _check_pair(a, b, None)
    h, w = a.shape[:2]
    if h < SSIM_WIN_SIZE or w < SSIM_WIN_SIZE:
        raise InvalidInputError(f"SSIM needs images of at least {SSIM_WIN_SIZE}x{SSIM_WIN_SIZE} "
                                f"(its window), got {h}x{w}")
    x = a.astype(np.float64)
    y = b.astype(np.float64)

    def blur(img: np.ndarray) -> np.ndarray:
        # scipy.ndimage's mode="reflect" (d c b a | a b c d) is OpenCV's BORDER_REFLECT.
        out = cv2.sepFilter2D(img, cv2.CV_64F, _KERNEL, _KERNEL, borderType=cv2.BORDER_REFLECT)
        return out.reshape(img.shape)

    ux, uy = blur(x), blur(y)
    vx = blur(x * x) - ux * ux
    vy = blur(y * y) - uy * uy
    vxy = blur(x * y) - ux * uy
    c1 = (_K1 * DATA_RANGE) ** 2
    c2 = (_K2 * DATA_RANGE) ** 2
    num = (2 * ux * uy + c1) * (2 * vxy + c2)
    den = (ux * ux + uy * uy + c1) * (vx + vy + c2)
    return num / den


def _ssim_from_map(s: np.ndarray, hole: np.ndarray | None) -> float:
    if hole is not None:
        return _mean_or_nan(s[hole])
    p = _SSIM_RADIUS
    cropped = s[p:-p, p:-p]
    if cropped.ndim == 3:  # per-channel mean, then the mean over channels (as skimage)
        return float(np.mean([cropped[:, :, c].mean(dtype=np.float64)
                              for c in range(cropped.shape[2])]))
    return float(cropped.mean(dtype=np.float64))


def ssim(a: np.ndarray, b: np.ndarray, hole: np.ndarray | None = None) -> float:
    """Structural similarity (Wang et al.; see the module docstring for the exact settings).

    Without ``hole``: equal to scikit-image's value (mean of the map with a 5-px border cropped).
    With ``hole``: the map is still computed on the whole image, then averaged over the hole
    pixels (``nan`` if there are none).
    """
    a, b, hole = _check_pair(a, b, hole)
    return _ssim_from_map(ssim_map(a, b), hole)


METRIC_KEYS = ("psnr", "ssim", "mae", "psnr_hole", "ssim_hole", "mae_hole")


def evaluate_pair(gt: np.ndarray, out: np.ndarray, hole: np.ndarray | None) -> dict[str, float]:
    """All metrics of one image pair: whole image and hole only (``nan`` without hole pixels).

    Keys: ``psnr, ssim, mae, psnr_hole, ssim_hole, mae_hole``. The difference image and the SSIM
    map are computed once and shared.
    """
    gt, out, hole = _check_pair(gt, out, hole)
    diff = gt.astype(np.float64) - out.astype(np.float64)
    sq = diff * diff
    ad = np.abs(diff)
    smap = ssim_map(gt, out)
    nan = float("nan")
    return {
        "psnr": _psnr_from_sq(sq),
        "ssim": _ssim_from_map(smap, None),
        "mae": _mean_or_nan(ad),
        "psnr_hole": _psnr_from_sq(sq[hole]) if hole is not None else nan,
        "ssim_hole": _ssim_from_map(smap, hole) if hole is not None else nan,
        "mae_hole": _mean_or_nan(ad[hole]) if hole is not None else nan,
    }


def evaluate_batch(gts: Iterable[np.ndarray], outs: Iterable[np.ndarray],
                   holes: Iterable[np.ndarray | None]) -> dict[str, float]:
    """Per-image metrics averaged over images (``nan`` entries skipped), plus ``count``.

    PSNR is averaged per image, not pooled (the protocol in research §3.4). An ``inf`` PSNR
    (a perfect image) makes the mean ``inf``; report it, do not hide it.
    """
    rows = [evaluate_pair(g, o, h) for g, o, h in zip(gts, outs, holes, strict=True)]
    result: dict[str, float] = {}
    for key in METRIC_KEYS:
        vals = np.array([r[key] for r in rows], dtype=np.float64)
        vals = vals[~np.isnan(vals)]
        result[key] = float(vals.mean()) if vals.size else float("nan")
    result["count"] = float(len(rows))
    return result


# -- FID -----------------------------------------------------------------------------------------

def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))``, with
    ``tr(sqrt(S1 S2)) = sum(sqrt(eig(sqrt(S1) S2 sqrt(S1))))``: the inner matrix is symmetric
    positive semi-definite, so symmetric eigendecompositions (``eigh``) suffice, tiny negative
    eigenvalues from round-off are clamped to 0, and no SciPy ``sqrtm`` (nor its complex
    round-off) is needed.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise InvalidInputError(f"frechet_distance needs means of shape (d,) and covariances of "
                                f"shape (d, d); got {mu1.shape}, {s1.shape}, {mu2.shape}, "
                                f"{s2.shape}")
    for name, x in (("mu1", mu1), ("sigma1", s1), ("mu2", mu2), ("sigma2", s2)):
        if not np.isfinite(x).all():
            raise InvalidInputError(f"frechet_distance: {name} contains NaN or Inf")
    s1 = 0.5 * (s1 + s1.T)
    s2 = 0.5 * (s2 + s2.T)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root1 @ s2 @ root1
    inner = 0.5 * (inner + inner.T)
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh(inner), 0.0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``ddof=1``, as pytorch-fid) of an ``N x D`` feature matrix."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise InvalidInputError(f"feature_statistics needs an N x D matrix with N >= 2, got "
                                f"{f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


#: The Inception contract :func:`fid` expects (see there).
FID_INPUT_SIZE = 299


def check_inception_weights(path: str | os.PathLike[str]) -> Path:
    """The Inception ONNX path, or :class:`ModelNotFoundError` saying how to get one."""
    p = Path(path)
    if not p.is_file():
        raise ModelNotFoundError(
            f"FID needs Inception-v3 feature weights as an ONNX file, and {p} does not exist. "
            "rmnet-sdk does not download them: export the FID Inception network (e.g. "
            "pytorch-fid's InceptionV3 with the pt_inception-2015-12-05 weights, 2048-d pool "
            "features) to ONNX yourself and pass its path as fid(..., inception_weights=PATH) "
            "(input N x 3 x 299 x 299 float32 RGB in [0, 1]; first output N x 2048).")
    return p


def _inception_session(path: str | os.PathLike[str]):
    from ._ort import create_session

    return create_session(check_inception_weights(path), what="the Inception weights")


def _as_image_list(images: np.ndarray | Sequence[np.ndarray | str | os.PathLike[str]],
                   name: str) -> list[np.ndarray]:
    from .imaging import read_image

    if isinstance(images, np.ndarray) and images.ndim == 4:
        items: list = list(images)
    else:
        items = list(images)
    out = []
    for i, im in enumerate(items):
        arr = read_image(im) if isinstance(im, (str, os.PathLike)) else np.asarray(im)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise InvalidInputError(f"{name}[{i}] must be an HxWx3 uint8 RGB image, got "
                                    f"{arr.dtype} {arr.shape}")
        out.append(arr)
    if len(out) < 2:
        raise InvalidInputError(f"FID needs at least 2 images per set; {name} has {len(out)}")
    return out


def inception_features(session, images: list[np.ndarray], *, batch_size: int = 32
                       ) -> np.ndarray:
    """``N x D`` features of uint8 RGB images from an ONNX Runtime Inception session.

    Images are resized bilinearly (half-pixel centres, like pytorch-fid's ``F.interpolate``) to
    the model's spatial input size (299 when dynamic), scaled to [0, 1] and fed as NCHW float32.
    """
    inp = session.get_inputs()[0]
    shape = inp.shape
    size = (shape[2], shape[3]) if len(shape) == 4 and all(isinstance(s, int) for s in shape[2:]) \
        else (FID_INPUT_SIZE, FID_INPUT_SIZE)
    feats = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        x = np.stack([
            cv2.resize(im, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
            if im.shape[:2] != size else im
            for im in chunk
        ]).astype(np.float32) / np.float32(255.0)
        out = session.run(None, {inp.name: np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0]
        feats.append(np.asarray(out, dtype=np.float64).reshape(len(chunk), -1))
    return np.concatenate(feats, axis=0)


def fid(real_images: np.ndarray | Sequence[np.ndarray | str | os.PathLike[str]],
        fake_images: np.ndarray | Sequence[np.ndarray | str | os.PathLike[str]], *,
        inception_weights: str | os.PathLike[str], batch_size: int = 32) -> float:
    """Fréchet Inception Distance between two image sets (uint8 RGB arrays or image paths).

    FID needs Inception weights, which this SDK does not download: ``inception_weights`` is the
    path of an ONNX model you provide, run with ONNX Runtime on the CPU. Its contract:

    * input: ``N x 3 x 299 x 299`` float32, RGB, values in **[0, 1]** (the input convention of
      pytorch-fid's ``InceptionV3`` module, which rescales to [-1, 1] itself, so an ONNX export of
      ``pytorch_fid.inception.InceptionV3([3])`` fits as is). A static spatial size other than
      299 is honoured; a dynamic one gets 299.
    * first output: ``N x D`` (or ``N x D x 1 x 1``) features, 2048-d pool features for the
      standard FID.

    A missing file raises :class:`ModelNotFoundError`. Use at least a few thousand images for
    numbers comparable to papers (FID is biased on small sets).
    """
    session = _inception_session(inception_weights)
    real = _as_image_list(real_images, "real_images")
    fake = _as_image_list(fake_images, "fake_images")
    mu1, s1 = feature_statistics(inception_features(session, real, batch_size=batch_size))
    mu2, s2 = feature_statistics(inception_features(session, fake, batch_size=batch_size))
    return frechet_distance(mu1, s1, mu2, s2)


def flicker(frames: Sequence[np.ndarray], hole: np.ndarray, *, ring: int = 8) -> dict[str, float]:
    """Temporal flicker of a filled hole in a clip of ``HxWx3`` uint8 frames (one static mask).

    ``hole``: mean over consecutive frame pairs of ``|f_t - f_{t-1}|`` (0-255, all channels)
    over the hole pixels; ``ring``: the same over the known pixels within ``ring`` pixels of the
    hole; ``ratio = hole / ring``. The ring measures how much the scene itself changes (noise,
    motion), so a ratio near 1 means the fill moves as much as its surroundings, and far above 1
    a fill that flickers on its own; a still clip of a noisy camera has a ratio below 1 when the
    fill is smoother than the noise.
    """
    h = as_hole_mask(hole, name="hole")
    if len(frames) < 2:
        raise InvalidInputError(f"flicker needs at least 2 frames, got {len(frames)}")
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    around = cv2.dilate(h.view(np.uint8), kernel).astype(bool) & ~h
    hole_sum = ring_sum = 0.0
    for prev, cur in zip(frames[:-1], frames[1:], strict=True):
        if cur.shape != prev.shape or cur.shape[:2] != h.shape:
            raise InvalidInputError(f"flicker: frames {prev.shape} / {cur.shape} do not match the "
                                    f"hole {h.shape}")
        diff = cv2.absdiff(cur, prev)
        hole_sum += float(diff[h].mean()) if h.any() else math.nan
        ring_sum += float(diff[around].mean()) if around.any() else math.nan
    pairs = len(frames) - 1
    hole_mad, ring_mad = hole_sum / pairs, ring_sum / pairs
    return {"hole": hole_mad, "ring": ring_mad,
            "ratio": hole_mad / ring_mad if ring_mad > 0 else (math.inf if hole_mad else math.nan)}


__all__ = [
    "DATA_RANGE",
    "check_inception_weights",
    "FID_INPUT_SIZE",
    "METRIC_KEYS",
    "SSIM_WIN_SIZE",
    "evaluate_batch",
    "evaluate_pair",
    "feature_statistics",
    "fid",
    "flicker",
    "frechet_distance",
    "inception_features",
    "mae",
    "psnr",
    "ssim",
    "ssim_map",
]
