"""Quality evaluation: a model against OpenCV Telea / Navier-Stokes, per hole-ratio bucket.

Protocol (research/inpainting_anchors.md §3.4): images are brought to ``size``² (INTER_AREA
resize of the short side, centre crop), masks are drawn per image and bucket with a fixed seed
(or read from a folder), every method's output is composited in uint8 (known pixels exact), and
PSNR/SSIM/MAE are computed on the whole image and on hole pixels only, averaged per image.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import masks as masklib
from . import metrics
from ._fileio import atomic_write_text
from .errors import DataError
from .imaging import list_images, read_image, resize_image, tile_grid, write_image

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


@dataclass
class EvalResult:
    """Per-method, per-bucket mean metrics (and the number of images behind each mean)."""

    size: int
    buckets: list[tuple[float, float]]
    table: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"size": self.size, "buckets": self.buckets, "table": self.table}

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
                lines.append(f"| {b} | {k} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def bucket_names(self) -> list[str]:
        return [f"{lo:.2f}-{hi:.2f}" for lo, hi in self.buckets]


def evaluate(methods: dict[str, Method], images: Sequence[np.ndarray], *, size: int = 256,
             buckets: Sequence[tuple[float, float]] = masklib.HOLE_RATIO_BUCKETS,
             seed: int = 0, mask_files: Sequence[Path] | None = None,
             mask_polarity: masklib.Polarity = "white-hole", grid_path: str | os.PathLike[str] | None = None,
             progress: bool = True,
             inception_weights: str | os.PathLike[str] | None = None) -> EvalResult:
    """Run every method on every (image, bucket) pair; see the module docstring for the protocol.

    With ``inception_weights`` (an Inception ONNX, see :func:`rmnet_sdk.metrics.fid`), each
    method's ``all`` row also gets ``fid``: its outputs against the originals, every case pooled
    (per-bucket sets are too small for FID to mean anything)."""
    from tqdm.auto import tqdm

    if not images:
        raise DataError("no images to evaluate")
    sampler = masklib.MaskSampler()
    squares = [center_square(im, size) for im in images]
    file_masks = None
    if mask_files:
        file_masks = [masklib.resize_hole_mask(masklib.read_mask(p, polarity=mask_polarity), (size, size))
                      for p in mask_files]
    rows: dict[str, dict[str, list[dict[str, float]]]] = {m: {} for m in methods}
    if inception_weights is not None:
        metrics.check_inception_weights(inception_weights)  # fail before minutes of inference
    outputs: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    originals: list[np.ndarray] = []
    examples: list[list[np.ndarray]] = []
    names = [f"{lo:.2f}-{hi:.2f}" for lo, hi in buckets]
    total = len(squares) * (len(buckets) if file_masks is None else 1)
    with tqdm(total=total, desc="evaluating", unit="case", disable=not progress) as bar:
        for i, gt in enumerate(squares):
            cases = []
            if file_masks is None:
                for b, name in zip(buckets, names, strict=True):
                    rng = np.random.default_rng([seed, i, zlib.crc32(name.encode())])
                    cases.append((name, sampler.sample_bucket((size, size), rng, b)))
            else:
                hole = file_masks[i % len(file_masks)]
                r = masklib.hole_ratio(hole)
                idx = next((k for k, (lo, hi) in enumerate(buckets) if lo < r <= hi), None)
                cases.append((names[idx] if idx is not None else "other", hole))
            for name, hole in cases:
                outs = {}
                for m, fn in methods.items():
                    out = fn(gt, hole)
                    outs[m] = out
                    rows[m].setdefault(name, []).append(metrics.evaluate_pair(gt, out, hole))
                    if inception_weights is not None:
                        outputs[m].append(out)
                if inception_weights is not None:
                    originals.append(gt)
                if grid_path is not None and len(examples) < 8 and i % 2 == 0:
                    masked = np.where(hole[..., None], np.uint8(255), gt)
                    examples.append([masked, *outs.values(), gt])
                bar.update(1)
    result = EvalResult(size=size, buckets=[tuple(b) for b in buckets])
    for m, per_bucket in rows.items():
        result.table[m] = {}
        everything = [r for rs in per_bucket.values() for r in rs]
        for name, rs in [*per_bucket.items(), ("all", everything)]:
            result.table[m][name] = {k: float(np.nanmean([r[k] for r in rs])) for k in metrics.METRIC_KEYS}
            result.table[m][name]["count"] = float(len(rs))
        if inception_weights is not None:
            result.table[m]["all"]["fid"] = metrics.fid(originals, outputs[m],
                                                        inception_weights=inception_weights)
    if grid_path is not None and examples:
        write_image(grid_path, tile_grid(examples), overwrite=True)
    return result


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
    atomic_write_text(out_dir / "eval.md", result.markdown())
