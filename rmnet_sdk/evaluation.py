"""Quality evaluation: a model against OpenCV Telea / Navier-Stokes, per hole-ratio bucket.

Protocol (research/inpainting_anchors.md §3.4): images are brought to ``size``² (INTER_AREA
resize of the short side, centre crop), ``masks_per_bucket`` masks are drawn per image and bucket
with a fixed seed (or read from a folder), every method's output is composited in uint8 (known
pixels exact), and PSNR/SSIM/MAE are computed on the whole image and on hole pixels only,
averaged per case.

Uncertainty: masks of one photo are not independent samples, so 95 % intervals come from a
bootstrap over photos (each resample keeps a photo's cases together). Differences between two
methods are bootstrapped paired, on the same resampled photos: a gain whose interval contains 0
is not a win.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import masks as masklib
from . import metrics
from ._fileio import atomic_write_text
from .errors import DataError
from .imaging import list_images, read_image, resize_image, tile_grid, write_image
from .mask_generators import MaskSampler

Method = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rgb uint8, hole bool) -> rgb uint8


def center_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize the short side to ``size`` (INTER_AREA when shrinking) and centre-crop a square."""
    h, w = image.shape[:2]
    s = size / min(h, w)
    nh, nw = max(size, round(h * s)), max(size, round(w * s))
    image = resize_image(image, (nh, nw))
    y, x = (nh - size) // 2, (nw - size) // 2
    return np.ascontiguousarray(image[y:y + size, x:x + size])


def opencv_method(name: str, radius: int = 3) -> Method:
    """OpenCV's classical inpainting (``"telea"`` or ``"ns"``) as a method."""
    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[name]

    def run(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        out = cv2.inpaint(rgb, hole.astype(np.uint8) * 255, radius, flag)
        return np.where(hole[..., None], out, rgb)

    return run


#: Metrics that get bootstrap intervals (the others are reported as means only).
CI_KEYS = ("psnr_hole", "ssim_hole", "mae_hole")
BOOTSTRAP_SAMPLES = 2000


def bootstrap_mean(per_photo: np.ndarray, *, samples: int = BOOTSTRAP_SAMPLES,
                   seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``per_photo`` values (resampling photos)."""
    values = np.asarray(per_photo, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(values.size, size=(samples, values.size))
    means = values[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@dataclass
class EvalResult:
    """Per-method, per-bucket mean metrics (and the number of cases behind each mean), with
    bootstrap intervals (``ci``) and paired differences to the baselines (``deltas``)."""

    size: int
    buckets: list[tuple[float, float]]
    table: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    #: ``ci[method][bucket][metric] = (lo, hi)``
    ci: dict[str, dict[str, dict[str, tuple[float, float]]]] = field(default_factory=dict)
    #: ``deltas["a-b"][bucket][metric] = (mean, lo, hi)`` for a - b, paired over photos
    deltas: dict[str, dict[str, dict[str, tuple[float, float, float]]]] = field(default_factory=dict)
    photos: int = 0
    masks_per_bucket: int = 1

    def to_dict(self) -> dict[str, object]:
        return {"size": self.size, "buckets": self.buckets, "photos": self.photos,
                "masks_per_bucket": self.masks_per_bucket, "table": self.table, "ci": self.ci,
                "deltas": self.deltas}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        """The inverse of :meth:`to_dict` (e.g. a result read back from ``eval.json``)."""
        return cls(size=data["size"], buckets=[tuple(b) for b in data["buckets"]],
                   table=data["table"], ci=data.get("ci", {}), deltas=data.get("deltas", {}),
                   photos=data.get("photos", 0), masks_per_bucket=data.get("masks_per_bucket", 1))

    def delta_markdown(self, key: str = "psnr_hole") -> str:
        """One row per bucket, one column per paired difference: ``mean [lo, hi]``; a cell is
        bold when its whole interval lies above 0 (below for MAE)."""
        pairs = list(self.deltas)
        if not pairs:
            return ""
        lines = ["| bucket | " + " | ".join(f"{p} ({key})" for p in pairs) + " |",
                 "| --- | " + " | ".join("---:" for _ in pairs) + " |"]
        for b in [*self.bucket_names(), "all"]:
            cells = []
            for p in pairs:
                mean, lo, hi = self.deltas[p].get(b, {}).get(key, (float("nan"),) * 3)
                win = hi < 0 if key.startswith("mae") else lo > 0
                text = f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                cells.append(f"**{text}**" if win else text)
            lines.append(f"| {b} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def markdown(self, keys: Sequence[str] = ("psnr_hole", "ssim_hole", "psnr", "ssim", "mae_hole")) -> str:
        methods = list(self.table)
        lines = ["| bucket | metric | " + " | ".join(methods) + " |",
                 "| --- | --- | " + " | ".join("---:" for _ in methods) + " |"]
        for b in [*self.bucket_names(), "all"]:
            extra = ("fid",) if b == "all" and any("fid" in self.table[m].get(b, {}) for m in methods) else ()
            for k in (*keys, *extra):
                vals = [self.table[m].get(b, {}).get(k, float("nan")) for m in methods]
                best = np.nanargmin(vals) if k in ("mae_hole", "mae", "fid") else np.nanargmax(vals)
                cells = [(f"**{v:.3f}**" if i == best else f"{v:.3f}") for i, v in enumerate(vals)]
                for i, m in enumerate(methods):
                    lo, hi = self.ci.get(m, {}).get(b, {}).get(k, (None, None))
                    if lo is not None:
                        cells[i] += f" [{lo:.2f}, {hi:.2f}]" if k.startswith(("psnr", "mae")) else f" [{lo:.3f}, {hi:.3f}]"
                lines.append(f"| {b} | {k} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def bucket_names(self) -> list[str]:
        return [f"{lo:.2f}-{hi:.2f}" for lo, hi in self.buckets]


#: Methods that are references rather than candidates: every other method gets a paired
#: difference against each of them that is present.
BASELINES = ("ns", "telea", "prefill")


def evaluate(methods: dict[str, Method], images: Sequence[np.ndarray], *, size: int = 256,
             buckets: Sequence[tuple[float, float]] = masklib.HOLE_RATIO_BUCKETS,
             seed: int = 0, mask_files: Sequence[Path] | None = None,
             mask_polarity: masklib.Polarity = "white-hole", grid_path: str | os.PathLike[str] | None = None,
             progress: bool = True,
             inception_weights: str | os.PathLike[str] | None = None,
             masks_per_bucket: int = 1, mask_kinds: Sequence[str] | None = None,
             baselines: Sequence[str] = BASELINES) -> EvalResult:
    """Run every method on every (image, bucket, mask) case; see the module docstring.

    ``mask_kinds`` restricts the generated masks (default: every kind of
    :data:`rmnet_sdk.mask_generators.MASK_KINDS`). With ``inception_weights`` (an Inception ONNX, see
    :func:`rmnet_sdk.metrics.fid`), each method's ``all`` row also gets ``fid``: its outputs
    against the originals, every case pooled (per-bucket sets are too small for FID to mean
    anything). ``grid_path`` gets a labelled grid: one row per example case (thin scratches,
    text and large holes first, when generated), one column per method."""
    from tqdm.auto import tqdm

    if not images:
        raise DataError("no images to evaluate")
    if masks_per_bucket < 1:
        raise DataError(f"masks_per_bucket must be >= 1, got {masks_per_bucket}")
    sampler = MaskSampler(kinds=tuple(mask_kinds)) if mask_kinds else MaskSampler()
    squares = [center_square(im, size) for im in images]
    file_masks = None
    if mask_files:
        file_masks = [masklib.resize_hole_mask(masklib.read_mask(p, polarity=mask_polarity), (size, size))
                      for p in mask_files]
    # rows[method][bucket] = list of (photo index, metrics)
    rows: dict[str, dict[str, list[tuple[int, dict[str, float]]]]] = {m: {} for m in methods}
    if inception_weights is not None:
        metrics.check_inception_weights(inception_weights)  # fail before minutes of inference
    outputs: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    originals: list[np.ndarray] = []
    names = [f"{lo:.2f}-{hi:.2f}" for lo, hi in buckets]
    per_image = len(buckets) * masks_per_bucket if file_masks is None else 1
    with tqdm(total=len(squares) * per_image, desc="evaluating", unit="case",
              disable=not progress) as bar:
        for i, gt in enumerate(squares):
            cases = []
            if file_masks is None:
                for b, name in zip(buckets, names, strict=True):
                    for r in range(masks_per_bucket):
                        key = [seed, i, zlib.crc32(name.encode())] + ([r] if r else [])
                        cases.append((name, sampler.sample_bucket((size, size), np.random.default_rng(key), b)))
            else:
                hole = file_masks[i % len(file_masks)]
                ratio = masklib.hole_ratio(hole)
                idx = next((k for k, (lo, hi) in enumerate(buckets) if lo < ratio <= hi), None)
                cases.append((names[idx] if idx is not None else "other", hole))
            for name, hole in cases:
                for m, fn in methods.items():
                    out = fn(gt, hole)
                    rows[m].setdefault(name, []).append((i, metrics.evaluate_pair(gt, out, hole)))
                    if inception_weights is not None:
                        outputs[m].append(out)
                if inception_weights is not None:
                    originals.append(gt)
                bar.update(1)
    result = EvalResult(size=size, buckets=[tuple(b) for b in buckets], photos=len(squares),
                        masks_per_bucket=masks_per_bucket)
    for m, per_bucket in rows.items():
        result.table[m], result.ci[m] = {}, {}
        everything = [r for rs in per_bucket.values() for r in rs]
        for name, rs in [*per_bucket.items(), ("all", everything)]:
            result.table[m][name] = {k: float(np.nanmean([r[k] for _, r in rs])) for k in metrics.METRIC_KEYS}
            result.table[m][name]["count"] = float(len(rs))
            result.ci[m][name] = {k: bootstrap_mean(_per_photo(rs, k), seed=seed) for k in CI_KEYS}
        if inception_weights is not None:
            result.table[m]["all"]["fid"] = metrics.fid(originals, outputs[m],
                                                        inception_weights=inception_weights)
    for m in methods:
        for ref in baselines:
            if ref == m or ref not in methods or m in baselines:
                continue
            result.deltas[f"{m}-{ref}"] = _paired_deltas(rows[m], rows[ref], seed)
    if grid_path is not None:
        write_image(grid_path, example_grid(methods, squares, seed=seed), overwrite=True)
    return result


def _per_photo(rs: list[tuple[int, dict[str, float]]], key: str) -> np.ndarray:
    """Mean of ``key`` per photo (a photo's cases stay together in the bootstrap)."""
    by_photo: dict[int, list[float]] = {}
    for i, r in rs:
        by_photo.setdefault(i, []).append(r[key])
    return np.array([np.mean(v) for _, v in sorted(by_photo.items())])


def _paired_deltas(a: dict[str, list[tuple[int, dict[str, float]]]],
                   b: dict[str, list[tuple[int, dict[str, float]]]],
                   seed: int) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Per bucket: mean of a - b over the same cases, with a bootstrap interval over photos."""
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    all_a = [r for rs in a.values() for r in rs]
    all_b = [r for rs in b.values() for r in rs]
    for name, ra, rb in [*((n, a[n], b[n]) for n in a), ("all", all_a, all_b)]:
        out[name] = {}
        for k in CI_KEYS:
            diff = [(i, {k: x[k] - y[k]}) for (i, x), (_, y) in zip(ra, rb, strict=True)]
            per = _per_photo(diff, k)
            finite = per[np.isfinite(per)]
            mean = float(finite.mean()) if finite.size else float("nan")
            out[name][k] = (mean, *bootstrap_mean(per, seed=seed))
    return out


#: The example grid's rows: (label, mask kind, hole-ratio bucket), hard cases first.
GRID_CASES: tuple[tuple[str, str, tuple[float, float]], ...] = (
    ("thin scratches", "thin", (0.01, 0.1)),
    ("text", "text", (0.05, 0.2)),
    ("strokes 20-30 %", "strokes", (0.2, 0.3)),
    ("large holes 40-60 %", "boxes", (0.4, 0.6)),
)


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    """A header strip with ``text`` above ``tile`` (same width)."""
    h = 18
    strip = np.full((h, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (3, h - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.concatenate([strip, tile], axis=0)


def example_grid(methods: dict[str, Method], squares: Sequence[np.ndarray], *, seed: int = 0,
                 cases: Sequence[tuple[str, str, tuple[float, float]]] = GRID_CASES,
                 per_case: int = 2) -> np.ndarray:
    """Labelled grid: ``per_case`` rows for each of ``cases`` (thin strokes, text, large holes:
    where a mask-shaped ghost shows), columns input (holes white) | each method | original."""
    rows: list[list[np.ndarray]] = []
    n = len(squares)
    for c, (label, kind, bucket) in enumerate(cases):
        sampler = MaskSampler(kinds=(kind,))
        for r in range(per_case):
            i = (c * per_case + r) * max(1, n // (len(cases) * per_case)) % n
            gt = squares[i]
            hole = sampler.sample_bucket(gt.shape[:2], np.random.default_rng([seed, 7919, c, r]), bucket)
            masked = np.where(hole[..., None], np.uint8(255), gt)
            tiles = [masked, *(fn(gt, hole) for fn in methods.values()), gt]
            if r == 0:  # a header per case: what the rows show, then the column names
                heads = [f"input: {label}", *methods, "original"]
                tiles = [_label(t, h) for t, h in zip(tiles, heads, strict=True)]
            rows.append(tiles)
    # every row must have equal height: pad the ones without a header
    height = max(t.shape[0] for row in rows for t in row)
    rows = [[np.pad(t, ((height - t.shape[0], 0), (0, 0), (0, 0)), constant_values=255)
             for t in row] for row in rows]
    return tile_grid(rows)


def load_eval_images(folder: str | os.PathLike[str], *, files: Sequence[str] | None = None,
                     limit: int | None = None) -> list[np.ndarray]:
    """Images of ``folder`` (or the named ``files`` in it), decoded as RGB."""
    paths = list_images(folder)
    if files is not None:
        wanted = {Path(f).name for f in files}
        paths = [p for p in paths if p.name in wanted]
    if limit:
        paths = paths[:limit]
    if not paths:
        raise DataError(f"no evaluation images in {folder}")
    return [read_image(p) for p in paths]


def save_result(result: EvalResult, out_dir: str | os.PathLike[str]) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "eval.json", json.dumps(result.to_dict(), indent=2) + "\n")
    deltas = "".join(f"\n### Paired differences, {k} (95 % bootstrap over photos)\n\n"
                     + result.delta_markdown(k) for k in ("psnr_hole", "ssim_hole") if result.deltas)
    atomic_write_text(out_dir / "eval.md", result.markdown() + deltas)
