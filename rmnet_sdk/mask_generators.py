"""Synthetic hole masks for training, evaluation and INT8/fp16 calibration.

The procedural generators (brush strokes, LaMa-style irregular strokes, boxes, thin scratches,
text) draw binary masks directly at the target resolution from a caller-supplied
:class:`numpy.random.Generator`, so a seed reproduces a mask exactly. :class:`MaskSampler` composes
them to hit a hole-ratio range (the NVIDIA/PConv buckets, :data:`rmnet_sdk.masks.HOLE_RATIO_BUCKETS`).
Every mask follows :mod:`rmnet_sdk.masks`' conventions (``HxW`` bool, ``True`` = hole). Inference
never draws masks, so :mod:`rmnet_sdk.masks` does not import this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from .errors import InvalidInputError
from .masks import HOLE_RATIO_BUCKETS, _check_size

#: Mask kinds the generators and :class:`MaskSampler` know ("mixed" picks one of them per mask).
MASK_KINDS: tuple[str, ...] = ("strokes", "irregular", "boxes", "thin", "text")


# -- primitives (one stroke or shape each, drawn onto a uint8 canvas with value 255) -------------

def _fold(x: np.ndarray, length: int) -> np.ndarray:
    """Reflect coordinates into ``[0, length - 1]`` so a random walk bounces off the borders."""
    span = max(length - 1, 1)
    return span - np.abs(np.mod(x, 2 * span) - span)


def _draw_qd_stroke(canvas: np.ndarray, rng: np.random.Generator, scale: float,
                    mul: float = 1.0) -> None:
    """One Quick-Draw-like brush stroke: a random-walk polyline with round caps and joins.

    ``scale`` is ``min(h, w) / 512`` (QD-IMD masks are 512x512); ``mul`` scales width and steps.
    """
    h, w = canvas.shape
    n = int(rng.integers(4, 13))
    heading = rng.uniform(0.0, 2 * math.pi) + np.cumsum(rng.normal(0.0, 0.6, n - 1))
    step = rng.uniform(15.0, 60.0, n - 1) * scale * mul
    start = rng.uniform((0.0, 0.0), (w, h))
    xs = _fold(start[0] + np.concatenate(([0.0], np.cumsum(step * np.cos(heading)))), w)
    ys = _fold(start[1] + np.concatenate(([0.0], np.cumsum(step * np.sin(heading)))), h)
    pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
    width = max(1, round(float(rng.uniform(5.0, 15.0)) * scale * mul))
    cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, 255, thickness=width)
    r = width // 2
    if r >= 1:
        for x, y in pts:
            cv2.circle(canvas, (int(x), int(y)), r, 255, thickness=-1)


def _draw_lama_stroke(canvas: np.ndarray, rng: np.random.Generator, index: int, scale: float,
                      mul: float = 1.0, *, max_angle: int = 4, max_len: int = 100,
                      max_width: int = 50) -> None:
    """One stroke of LaMa's ``make_random_irregular_mask`` (1..5 segments, all re-drawn per segment).

    LaMa's constants are for 256x256 images; ``scale = min(h, w) / 256`` rescales lengths and
    widths. As in LaMa, x moves with ``sin(angle)``, angles are integer radians + 0.01, and even
    strokes mirror the angle (``2*pi - angle``).
    """
    h, w = canvas.shape
    k = scale * mul
    x, y = int(rng.integers(w)), int(rng.integers(h))
    nseg = 1 + int(rng.integers(5))
    angles = 0.01 + rng.integers(max_angle, size=nseg)
    if index % 2 == 0:
        angles = 2 * math.pi - angles
    lengths = (10 + rng.integers(max(1, round(max_len * k)), size=nseg)) * k
    widths = np.maximum(1, np.round((5 + rng.integers(max_width, size=nseg)) * k)).astype(int)
    for a, ln, bw in zip(angles, lengths, widths, strict=True):
        ex = int(np.clip(x + ln * math.sin(a), 0, w))
        ey = int(np.clip(y + ln * math.cos(a), 0, h))
        cv2.line(canvas, (x, y), (ex, ey), 255, int(bw))
        x, y = ex, ey


def _draw_box(canvas: np.ndarray, rng: np.random.Generator, scale: float, mul: float = 1.0, *,
              margin: int = 10, min_size: int = 30, max_size: int = 150,
              ellipse_p: float = 0.5) -> None:
    """One rectangle (LaMa's box generator: size in [min, max], kept ``margin`` from the border)
    or, with probability ``ellipse_p``, a rotated elliptic blob inscribed in the same box.

    LaMa's constants are for 256x256 images; ``scale = min(h, w) / 256`` rescales them.
    """
    h, w = canvas.shape
    m = round(margin * scale)
    lo = max(1, round(min_size * scale * mul))
    hi = round(max_size * scale * mul)
    hi = min(hi, h - 2 * m, w - 2 * m)
    if hi < lo:  # tiny image: drop the margin, then shrink the box
        m = 0
        hi = min(max(lo, hi), h, w)
        lo = min(lo, hi)
    bw, bh = (int(v) for v in rng.integers(lo, hi + 1, size=2))
    x0 = int(rng.integers(m, w - m - bw + 1))
    y0 = int(rng.integers(m, h - m - bh + 1))
    if rng.random() < ellipse_p:
        centre = (x0 + bw // 2, y0 + bh // 2)
        axes = (max(1, bw // 2), max(1, bh // 2))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, thickness=-1)
    else:
        canvas[y0:y0 + bh, x0:x0 + bw] = 255


def _draw_thin_stroke(canvas: np.ndarray, rng: np.random.Generator, scale: float,
                      mul: float = 1.0) -> None:
    """One scratch: a gently curving polyline 1..5 px wide at 256x256 (``scale = min(h, w) / 256``).

    Thin strokes are where a model that learned "holes are zeros" leaves a mask-shaped ghost, so
    they get their own kind."""
    h, w = canvas.shape
    n = int(rng.integers(3, 9))
    heading = rng.uniform(0.0, 2 * math.pi) + np.cumsum(rng.normal(0.0, 0.35, n - 1))
    step = rng.uniform(20.0, 70.0, n - 1) * scale * math.sqrt(mul)
    start = rng.uniform((0.0, 0.0), (w, h))
    xs = _fold(start[0] + np.concatenate(([0.0], np.cumsum(step * np.cos(heading)))), w)
    ys = _fold(start[1] + np.concatenate(([0.0], np.cumsum(step * np.sin(heading)))), h)
    pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
    width = max(1, round(float(rng.uniform(1.0, 5.0)) * scale * mul))
    cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, 255, thickness=width,
                  lineType=cv2.LINE_8)


_TEXT_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
               cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN)
_TEXT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@&"


def _draw_text(canvas: np.ndarray, rng: np.random.Generator, scale: float,
               mul: float = 1.0) -> None:
    """One watermark-like word: 2..10 random characters in a Hershey font, 1..4 px strokes at
    256x256, anywhere in the image (it may run off the border, as real captions do)."""
    h, w = canvas.shape
    word = "".join(_TEXT_ALPHABET[i] for i in rng.integers(len(_TEXT_ALPHABET), size=int(rng.integers(2, 11))))
    font = _TEXT_FONTS[int(rng.integers(len(_TEXT_FONTS)))]
    size = float(rng.uniform(0.4, 1.6)) * scale * math.sqrt(mul)
    thickness = max(1, round(float(rng.uniform(1.0, 4.0)) * scale * math.sqrt(mul)))
    org = (int(rng.integers(-w // 8, w)), int(rng.integers(0, h + h // 8)))
    cv2.putText(canvas, word, org, font, size, 255, thickness, cv2.LINE_8)


def _scales(shape: tuple[int, int]) -> tuple[float, float]:
    """(QD scale relative to 512, LaMa scale relative to 256)."""
    s = min(shape)
    return s / 512.0, s / 256.0


def _draw_primitive(kind: str, canvas: np.ndarray, rng: np.random.Generator, index: int,
                    mul: float) -> None:
    qd, lama = _scales(canvas.shape)
    if kind == "strokes":
        _draw_qd_stroke(canvas, rng, qd, mul)
    elif kind == "thin":
        _draw_thin_stroke(canvas, rng, lama, mul)
    elif kind == "text":
        _draw_text(canvas, rng, lama, mul)
    elif kind == "irregular":
        _draw_lama_stroke(canvas, rng, index, lama, mul)
    else:
        _draw_box(canvas, rng, lama, mul)


# -- generators ----------------------------------------------------------------------------------

def _canvas(shape: Sequence[int]) -> np.ndarray:
    h, w = _check_size(shape, "shape")
    return np.zeros((h, w), np.uint8)


def strokes_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Free-form brush strokes in the spirit of QD-IMD (Quick Draw Irregular Mask Dataset).

    ``round(Normal(4, 2))`` strokes (at least 1), each a random-walk polyline of 4..12 vertices with
    width ``U(5, 15)`` px at 512x512 (scaled by ``min(h, w) / 512``) and round caps/joins. QD-IMD
    itself needs the Quick Draw stroke pool; this is its procedural stand-in.
    """
    canvas = _canvas(shape)
    n = max(1, round(float(rng.normal(4.0, 2.0))))
    qd, _ = _scales(canvas.shape)
    for _ in range(n):
        _draw_qd_stroke(canvas, rng, qd)
    return canvas.astype(bool)


def irregular_mask(shape: tuple[int, int], rng: np.random.Generator, *, min_times: int = 1,
                   max_times: int = 5, max_angle: int = 4, max_len: int = 100,
                   max_width: int = 50) -> np.ndarray:
    """NVIDIA/LaMa-style irregular holes: LaMa's ``make_random_irregular_mask``.

    ``min_times..max_times+1`` strokes (LaMa's effective range) of 1..5 segments, with angle,
    length ``10 + randint(max_len)`` and width ``5 + randint(max_width)`` re-drawn per segment.
    Lengths and widths are for 256x256 (LaMa's ``random_medium_256``-like defaults) and scale
    with ``min(h, w) / 256``.
    """
    canvas = _canvas(shape)
    _, lama = _scales(canvas.shape)
    times = int(rng.integers(min_times, max_times + 2))
    for i in range(max(1, times)):
        _draw_lama_stroke(canvas, rng, i, lama, max_angle=max_angle, max_len=max_len,
                          max_width=max_width)
    return canvas.astype(bool)


def boxes_mask(shape: tuple[int, int], rng: np.random.Generator, *, min_times: int = 1,
               max_times: int = 4, margin: int = 10, min_size: int = 30, max_size: int = 150,
               ellipse_p: float = 0.5) -> np.ndarray:
    """1..N random rectangles and elliptic blobs (LaMa's box generator semantics, with margin).

    Sizes and margin are for 256x256 (LaMa's training config) and scale with ``min(h, w) / 256``.
    """
    canvas = _canvas(shape)
    _, lama = _scales(canvas.shape)
    for _ in range(int(rng.integers(min_times, max_times + 1))):
        _draw_box(canvas, rng, lama, margin=margin, min_size=min_size, max_size=max_size,
                  ellipse_p=ellipse_p)
    return canvas.astype(bool)


def thin_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """3..12 thin scratches (1..5 px at 256x256, scaled by ``min(h, w) / 256``)."""
    canvas = _canvas(shape)
    _, lama = _scales(canvas.shape)
    for _ in range(int(rng.integers(3, 13))):
        _draw_thin_stroke(canvas, rng, lama)
    return canvas.astype(bool)


def text_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """1..5 words of watermark- or caption-like text (Hershey fonts, random size and weight)."""
    canvas = _canvas(shape)
    _, lama = _scales(canvas.shape)
    for _ in range(int(rng.integers(1, 6))):
        _draw_text(canvas, rng, lama)
    return canvas.astype(bool)


def mixed_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """One of the generators, picked uniformly (as LaMa's "mixed" generator, equal weights)."""
    kind = MASK_KINDS[int(rng.integers(len(MASK_KINDS)))]
    return GENERATORS[kind](shape, rng)


GENERATORS: dict[str, Callable[..., np.ndarray]] = {
    "strokes": strokes_mask,
    "irregular": irregular_mask,
    "boxes": boxes_mask,
    "thin": thin_mask,
    "text": text_mask,
    "mixed": mixed_mask,
}


def make_mask(kind: str, shape: tuple[int, int], seed: int) -> np.ndarray:
    """One generator mask from a seed: ``GENERATORS[kind](shape, np.random.default_rng(seed))``."""
    if kind not in GENERATORS:
        raise InvalidInputError(f"unknown mask kind {kind!r}; choose one of {sorted(GENERATORS)}")
    return GENERATORS[kind](shape, np.random.default_rng(seed))


# -- sampling to a hole-ratio range --------------------------------------------------------------

class MaskSampler:
    """Draw procedural masks whose hole ratio lies in a range (or one NVIDIA bucket).

    Per mask: pick a kind from ``kinds`` and a target pixel count uniformly in the range, then add
    that kind's strokes/shapes (union) until the target is reached. A primitive that would push the
    mask above the range is undone and re-drawn smaller; after a bounded number of steps any
    shortfall is filled deterministically with the non-hole pixels nearest a random point (a
    compact blob). So every mask satisfies ``lo < ratio <= hi`` (``lo <= ratio`` when no count
    above ``lo`` fits), it never loops forever, and a range no ``h x w`` mask can hit raises
    :class:`InvalidInputError`. Cost: a few milliseconds for 256x256.
    """

    def __init__(self, kinds: Sequence[str] = MASK_KINDS,
                 ratio_range: tuple[float, float] = (0.01, 0.6), *, max_steps: int = 48) -> None:
        if isinstance(kinds, str):
            kinds = (kinds,)
        expanded: list[str] = []
        for k in kinds:
            if k == "mixed":
                expanded.extend(MASK_KINDS)
            elif k in MASK_KINDS:
                expanded.append(k)
            else:
                raise InvalidInputError(f"unknown mask kind {k!r}; choose from {MASK_KINDS} or 'mixed'")
        if not expanded:
            raise InvalidInputError("MaskSampler needs at least one mask kind")
        self.kinds: tuple[str, ...] = tuple(dict.fromkeys(expanded))
        self.ratio_range = self._check_range(ratio_range)
        self.max_steps = int(max_steps)

    def __repr__(self) -> str:
        return f"MaskSampler(kinds={self.kinds}, ratio_range={self.ratio_range})"

    @staticmethod
    def _check_range(ratio_range: Sequence[float]) -> tuple[float, float]:
        try:
            lo, hi = (float(v) for v in ratio_range)
        except (TypeError, ValueError) as e:
            raise InvalidInputError(f"ratio_range must be (lo, hi), got {ratio_range!r}") from e
        if not (0.0 <= lo < hi <= 1.0):
            raise InvalidInputError(f"ratio_range must satisfy 0 <= lo < hi <= 1, got {ratio_range!r}")
        return lo, hi

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        """A bool ``h x w`` mask whose hole ratio lies in ``ratio_range``."""
        return self._sample(shape, rng, *self.ratio_range)

    def sample_bucket(self, shape: tuple[int, int], rng: np.random.Generator,
                      bucket: int | tuple[float, float]) -> np.ndarray:
        """A mask in one bucket: an index into :data:`HOLE_RATIO_BUCKETS` or a ``(lo, hi)`` pair."""
        if isinstance(bucket, (int, np.integer)):
            if not 0 <= int(bucket) < len(HOLE_RATIO_BUCKETS):
                raise InvalidInputError(f"bucket index must be in 0..{len(HOLE_RATIO_BUCKETS) - 1}, "
                                        f"got {bucket}")
            lo, hi = HOLE_RATIO_BUCKETS[int(bucket)]
        else:
            lo, hi = self._check_range(bucket)
        return self._sample(shape, rng, lo, hi)

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _count_bounds(n: int, lo: float, hi: float) -> tuple[int, int]:
        """Smallest count c with c/n > lo (or == lo if nothing else fits) and largest with c/n <= hi."""
        c_hi = math.floor(hi * n)
        while c_hi / n > hi:
            c_hi -= 1
        while (c_hi + 1) <= n and (c_hi + 1) / n <= hi:
            c_hi += 1
        c_lo = max(0, math.floor(lo * n))
        while c_lo / n < lo:
            c_lo += 1
        if c_lo / n == lo and c_lo + 1 <= c_hi:
            c_lo += 1  # the NVIDIA buckets are half-open (lo, hi]
        return c_lo, c_hi

    def _sample(self, shape: Sequence[int], rng: np.random.Generator, lo: float, hi: float
                ) -> np.ndarray:
        canvas = _canvas(shape)
        n = canvas.size
        c_lo, c_hi = self._count_bounds(n, lo, hi)
        if c_lo > c_hi or c_hi < 1:
            raise InvalidInputError(f"no {canvas.shape[0]}x{canvas.shape[1]} mask has a hole "
                                    f"ratio in [{lo}, {hi}]")
        c_lo = max(c_lo, 1)
        target = int(rng.integers(c_lo, c_hi + 1))
        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        # Broader strokes for larger targets: a 50 % hole is a few wide strokes, not hundreds of
        # hairlines (closer to the NVIDIA masks, and fast).
        mul = 1.0 if kind == "boxes" else 1.0 + 2.0 * target / n
        # Accept primitives up to a little above the target (not up to the range's top), so the
        # ratios stay close to the uniformly drawn targets even when one shape is large.
        upper = min(c_hi, target + max(target // 4, n // 100))
        count, drawn, batch = 0, 0, 1
        for _ in range(self.max_steps):
            if count >= target:
                break
            before = canvas.copy()
            for _ in range(batch):
                _draw_primitive(kind, canvas, rng, drawn, mul)
                drawn += 1
            new = int(np.count_nonzero(canvas))
            if new > upper:  # overshoot: undo, draw smaller, one at a time
                canvas = before
                drawn -= batch
                mul *= 0.6
                batch = 1
                continue
            count = new
            if count > 0 and count < target:
                per = count / drawn
                batch = int(min(32, max(1, 0.5 * (target - count) / per)))
        hole = canvas.astype(bool)
        if count < c_lo:
            self._fill(hole, target - count, rng)
        return hole

    @staticmethod
    def _fill(hole: np.ndarray, k: int, rng: np.random.Generator) -> None:
        """Turn the ``k`` non-hole pixels nearest a random point into holes (in place)."""
        h, w = hole.shape
        free = np.flatnonzero(~hole)
        k = min(k, free.size)
        if k <= 0:
            return
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ys, xs = np.divmod(free, w)
        d2 = (ys - cy) ** 2 + (xs - cx) ** 2
        pick = free[np.argpartition(d2, k - 1)[:k]] if k < free.size else free
        hole.reshape(-1)[pick] = True


__all__ = [
    "GENERATORS",
    "MASK_KINDS",
    "MaskSampler",
    "boxes_mask",
    "irregular_mask",
    "make_mask",
    "mixed_mask",
    "strokes_mask",
    "text_mask",
    "thin_mask",
]
