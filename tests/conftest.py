"""Shared fixtures: small synthetic data made by the tests themselves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"


def synthetic_photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth, structured RGB image (gradients + discs + bars): learnable, not noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, 0.5 + 0.5 * np.sin((xx + yy) / (7 + 5 * rng.random()))], -1)
    img = base * rng.uniform(0.3, 1.0, 3)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(4, max(5, h / 4))
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.random(3)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def tiny_image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve 80x96 synthetic photos as PNG in a nested folder."""
    from rmnet_sdk.imaging import write_image

    root = tmp_path_factory.mktemp("tiny_photos")
    rng = np.random.default_rng(1234)
    for i in range(12):
        sub = root / ("a" if i % 2 else "b")
        write_image(sub / f"img{i:02d}.png", synthetic_photo(rng, 80, 96))
    return root


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """The shared real-photo corpus (present on dev machines and in CI)."""
    if not PHOTOS.is_dir():
        pytest.skip(f"photo corpus not found at {PHOTOS}")
    return PHOTOS
