"""Training data: image folders + masks (files or procedural) -> deterministic batches.

Batch ``k`` is a pure function of ``(seed, k)``: resuming at step ``k`` sees exactly the data an
uninterrupted run would have seen, with no iterator state to checkpoint. The per-sample work is
NumPy/OpenCV; :meth:`InpaintingData.tf_dataset` wraps it in ``tf.data`` (parallel map +
prefetch) for the TensorFlow backend and :meth:`InpaintingData.batches` is a backend-neutral
threaded prefetcher (e.g. for ``KERAS_BACKEND=torch`` on a GPU machine without TensorFlow).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rmnet_sdk import masks as masklib
from rmnet_sdk.errors import DataError, ImageReadError
from rmnet_sdk.evaluation import center_square
from rmnet_sdk.imaging import list_images, read_image, resize_image, to_model_range
from rmnet_sdk.mask_generators import MaskSampler

from .config import TrainConfig


def split_files(files: Sequence[Path], val_fraction: float) -> tuple[list[Path], list[Path]]:
    """Split by a hash of each file name: stable, and unchanged for old files when new ones arrive."""
    train, val = [], []
    for f in files:
        bucket = int(hashlib.sha1(f.name.encode()).hexdigest()[:8], 16) % 10_000
        (val if bucket < val_fraction * 10_000 else train).append(f)
    return train, val


def files_from_split(files: Sequence[Path], split_file: str | Path) -> tuple[list[Path], list[Path]]:
    """``(train, validation)`` files named by a split JSON (``{"train": [...], "validation":
    [...], "test": [...]}``, file names relative to the data folder).

    The test list is only checked for overlap, never returned: whatever a split holds out for
    the final report cannot reach training or checkpoint selection through this function."""
    import json

    path = Path(split_file)
    try:
        split = json.loads(path.read_text())
        names = {k: [str(n) for n in split.get(k, [])] for k in ("train", "validation", "test")}
    except (OSError, ValueError, AttributeError) as e:
        raise DataError(f"cannot read the split file {path}: {e}") from e
    overlap = (set(names["train"]) | set(names["validation"])) & set(names["test"])
    overlap |= set(names["train"]) & set(names["validation"])
    if overlap:
        raise DataError(f"split file {path}: files in more than one split: {sorted(overlap)[:5]}")
    by_name = {f.name: f for f in files}
    missing = [n for n in names["train"] + names["validation"] if n not in by_name]
    if missing:
        raise DataError(f"split file {path} names {len(missing)} files that are not in the data "
                        f"folder (first: {missing[:3]})")
    if not names["train"]:
        raise DataError(f"split file {path} has no training files")
    return [by_name[n] for n in names["train"]], [by_name[n] for n in names["validation"]]


def load_images(files: Sequence[Path], *, min_side: int) -> tuple[list[np.ndarray], list[str]]:
    """Decode images once (kept in memory); returns images and the files that failed."""
    images, failed = [], []
    for f in files:
        try:
            img = read_image(f)
        except ImageReadError as e:
            logging.getLogger("rmnet_sdk.training").warning("skipping a training image: %s", e)
            failed.append(str(f))
            continue
        h, w = img.shape[:2]
        if min(h, w) < min_side:  # upscale small images so every crop mode works
            s = min_side / min(h, w)
            img = resize_image(img, (max(min_side, round(h * s)), max(min_side, round(w * s))))
        images.append(img)
    return images, failed


@dataclass
class Batch:
    """One training batch: images in [-1, 1] NHWC float32, holes NHW1 float32 (1 = hole)."""

    images: np.ndarray
    holes: np.ndarray
    noise: np.ndarray  # U(0, 1) per sample, e.g. for gradient-penalty interpolation


class InpaintingData:
    """Deterministic, seekable source of (image, hole) batches for one split."""

    def __init__(self, images: list[np.ndarray], config: TrainConfig, *, seed_offset: int = 0,
                 mask_files: Sequence[Path] | None = None) -> None:
        if not images:
            raise DataError("no training images")
        self.images = images
        self.config = config
        self.size = config.image_size
        self.seed = config.seed + seed_offset
        self.sampler = MaskSampler(kinds=tuple(config.mask_kinds),
                                   ratio_range=tuple(config.hole_ratio))
        self.mask_pool: list[np.ndarray] | None = None
        #: Index of a batch's first sample: a worker of a distributed run makes only its slice
        #: (samples first_sample ... first_sample + batch_size - 1) of each global batch.
        self.first_sample = 0
        if mask_files is not None:
            self.mask_pool = [masklib.read_mask(p, polarity=config.mask_polarity)
                              for p in mask_files]
            if not self.mask_pool:
                raise DataError("the mask folder has no readable masks")

    # -- one sample ---------------------------------------------------------------------------
    def _crop(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        s, mode = self.size, self.config.crop
        h, w = img.shape[:2]
        if mode == "resize":
            out = resize_image(img, (s, s))
        elif mode == "center":  # evaluation framing: short side to s, centre square, no flip
            return center_square(img, s)
        else:
            short = min(h, w)
            lo = max(s, int(self.config.min_crop_fraction * short))
            hi = max(lo, min(short, int(self.config.max_crop_fraction * short)))
            side = s if mode == "random" else int(rng.integers(lo, hi + 1))
            y = int(rng.integers(0, h - side + 1))
            x = int(rng.integers(0, w - side + 1))
            out = resize_image(img[y:y + side, x:x + side], (s, s))
        if rng.random() < 0.5:
            out = out[:, ::-1]
        if self.config.rot90:
            out = np.rot90(out, int(rng.integers(4)))
        return np.ascontiguousarray(out)

    def _hole(self, rng: np.random.Generator) -> np.ndarray:
        s = self.size
        if self.mask_pool is None:
            return self.sampler.sample((s, s), rng)
        m = self.mask_pool[int(rng.integers(len(self.mask_pool)))]
        m = masklib.resize_hole_mask(m, (s, s))
        if rng.random() < 0.5:
            m = m[:, ::-1]
        if rng.random() < 0.5:
            m = m[::-1, :]
        return np.ascontiguousarray(m)

    def sample(self, step: int, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        rng = np.random.default_rng([self.seed, step, index])
        img = self.images[int(rng.integers(len(self.images)))]
        crop = self._crop(img, rng)
        hole = self._hole(rng)
        return crop, hole, float(rng.random())

    def batch(self, step: int, batch_size: int | None = None) -> Batch:
        n = batch_size or self.config.batch_size
        samples = [self.sample(step, i) for i in range(self.first_sample, self.first_sample + n)]
        images = to_model_range(np.stack([s[0] for s in samples]))
        holes = np.stack([s[1] for s in samples]).astype(np.float32)[..., None]
        noise = np.array([s[2] for s in samples], dtype=np.float32).reshape(n, 1, 1, 1)
        return Batch(images, holes, noise)

    # -- iteration ----------------------------------------------------------------------------
    def batches(self, start_step: int, end_step: int, *, prefetch: int = 2) -> Iterator[Batch]:
        """Backend-neutral iterator with a small thread-pool prefetch (OpenCV releases the GIL)."""
        with cf.ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(self.batch, s) for s in range(start_step, min(end_step, start_step + prefetch))]
            nxt = start_step + len(futures)
            for _ in range(start_step, end_step):
                result = futures.pop(0).result()
                if nxt < end_step:
                    futures.append(pool.submit(self.batch, nxt))
                    nxt += 1
                yield result

    def tf_dataset(self, start_step: int, end_step: int):  # -> tf.data.Dataset
        """The same batches as a ``tf.data`` pipeline (parallel, deterministic order, prefetch)."""
        import tensorflow as tf

        n, s = self.config.batch_size, self.size

        def make(step):
            b = self.batch(int(step))
            return b.images, b.holes, b.noise

        def fn(step):
            imgs, holes, noise = tf.numpy_function(make, [step], (tf.float32, tf.float32, tf.float32))
            imgs.set_shape((n, s, s, 3))
            holes.set_shape((n, s, s, 1))
            noise.set_shape((n, 1, 1, 1))
            return imgs, holes, noise

        ds = tf.data.Dataset.range(start_step, end_step)
        ds = ds.map(fn, num_parallel_calls=2, deterministic=True)
        return ds.prefetch(2)


def build_datasets(config: TrainConfig) -> tuple[InpaintingData, Batch, dict[str, object]]:
    """Training source and a fixed validation batch from ``config`` (with a data report)."""
    data_dir = Path(config.data_dir)
    if not config.data_dir or not data_dir.is_dir():
        raise DataError(f"training data folder does not exist: {config.data_dir!r}")
    files = list_images(data_dir)
    if not files:
        raise DataError(f"no images (jpg/png/webp/...) found under {data_dir}")
    if config.split_file:
        train_files, val_files = files_from_split(files, config.split_file)
    elif config.val_dir:
        train_files, val_files = files, list_images(config.val_dir)
    else:
        train_files, val_files = split_files(files, config.val_fraction)
        if not val_files:  # tiny folders: hold one image out rather than validating on train
            train_files, val_files = train_files[:-1] or train_files, train_files[-1:]
    min_side = config.image_size
    train_imgs, bad_train = load_images(train_files, min_side=min_side)
    val_imgs, bad_val = load_images(val_files, min_side=min_side)
    if not train_imgs:
        raise DataError(f"none of the {len(train_files)} image files under {data_dir} could be "
                        f"read (first: {bad_train[:3]})")
    mask_files = None
    if config.mask_dir:
        mask_files = list_images(config.mask_dir)
        if not mask_files:
            raise DataError(f"no mask images found under {config.mask_dir}")
    train = InpaintingData(train_imgs, config, mask_files=mask_files)
    val_cfg = config.replace(crop="center")  # the framing `rmnet eval` uses
    val_source = InpaintingData(val_imgs or train_imgs, val_cfg, seed_offset=10_007,
                                mask_files=mask_files)
    val_batch = val_source.batch(0, batch_size=config.num_val_images)
    report = {
        "train_files": [str(f) for f in train_files], "val_files": [str(f) for f in val_files],
        "unreadable": bad_train + bad_val,
    }
    return train, val_batch, report


__all__ = ["Batch", "InpaintingData", "build_datasets", "files_from_split", "split_files", "load_images"]
