"""Temporal stability (TemporalStabilizer) and the flicker metric."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.imaging import read_image
from rmnet_sdk.metrics import flicker
from rmnet_sdk.video_stability import TemporalStabilizer

H, W = 96, 128


@pytest.fixture(scope="module")
def scene(photos_dir: Path) -> np.ndarray:
    """A real photo, 3x the clip width so that it can pan."""
    photo = read_image(sorted(photos_dir.glob("*.jpg"))[3])
    return cv2.resize(photo, (3 * W, H), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def hole() -> np.ndarray:
    hole = np.zeros((H, W), bool)
    hole[30:60, 40:90] = True
    return hole


def _noisy(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def _filled(frame: np.ndarray, hole: np.ndarray, fill: np.ndarray) -> np.ndarray:
    out = frame.copy()
    out[hole] = fill[hole]
    return out


def _stabilised(frames, outs, hole, stab: TemporalStabilizer) -> list[np.ndarray]:
    result = []
    for f, o in zip(frames, outs, strict=True):
        o = o.copy()
        stab.apply(f, hole, o)
        result.append(o)
    return result


def test_flicker_metric_by_hand() -> None:
    hole = np.zeros((20, 20), bool)
    hole[8:12, 8:12] = True
    a = np.full((20, 20, 3), 100, np.uint8)
    b = a.copy()
    b[hole] = 106          # the fill moves by 6
    b[~hole] = 102         # the scene by 2
    result = flicker([a, b, a], hole, ring=3)
    assert result["hole"] == pytest.approx(6.0)
    assert result["ring"] == pytest.approx(2.0)
    assert result["ratio"] == pytest.approx(3.0)
    with pytest.raises(InvalidInputError, match="at least 2 frames"):
        flicker([a], hole)


def test_still_noisy_scene_flickers_less_and_keeps_known_pixels(scene, hole) -> None:
    rng = np.random.default_rng(0)
    still = scene[:, :W]
    frames = [_noisy(still, rng, 3.0) for _ in range(12)]
    # a fill that reacts to the noise: the true content plus independent per-frame noise
    outs = [_filled(f, hole, _noisy(still, rng, 3.0)) for f in frames]
    stable = _stabilised(frames, outs, hole, TemporalStabilizer())
    before, after = flicker(outs, hole), flicker(stable, hole)
    assert after["hole"] * 2.0 <= before["hole"]
    assert after["ring"] == before["ring"]
    for f, s in zip(frames, stable, strict=True):
        np.testing.assert_array_equal(s[~hole], f[~hole])
    # closer to the true content, not further: averaging removes noise
    err = [np.abs(s[hole].astype(float) - still[hole]).mean() for s in stable[4:]]
    err0 = [np.abs(o[hole].astype(float) - still[hole]).mean() for o in outs[4:]]
    assert np.mean(err) < np.mean(err0)


def test_panning_scene_gets_the_fresh_fill(scene, hole) -> None:
    frames = [np.ascontiguousarray(scene[:, 8 * i:8 * i + W]) for i in range(6)]
    outs = [_filled(f, hole, np.full_like(f, 40 * i)) for i, f in enumerate(frames)]
    stab = TemporalStabilizer()
    stable = _stabilised(frames, outs, hole, stab)
    for o, s in zip(outs, stable, strict=True):
        np.testing.assert_array_equal(s, o)


def test_scene_cut_resets_and_still_frames_blend(scene, hole) -> None:
    a = np.ascontiguousarray(scene[:, :W])
    b = np.ascontiguousarray(255 - scene[:, W:2 * W])  # another scene
    frames = [a, a, b]
    outs = [_filled(a, hole, np.full_like(a, 100)), _filled(a, hole, np.full_like(a, 200)),
            _filled(b, hole, np.full_like(b, 50))]
    stab = TemporalStabilizer(strength=0.75)
    stable = _stabilised(frames, outs, hole, stab)
    np.testing.assert_array_equal(stable[0], outs[0])
    assert (stable[1][hole] == 125).all()  # 0.75 * 100 + 0.25 * 200, the ring unchanged
    np.testing.assert_array_equal(stable[2], outs[2])  # the cut: fresh fill, no history
    assert stab.resets == 1


def test_moving_mask_starts_new_hole_pixels_fresh(scene, hole) -> None:
    a = np.ascontiguousarray(scene[:, :W])
    moved = np.roll(hole, 10, axis=1)
    stab = TemporalStabilizer(strength=0.5)
    first = _filled(a, hole, np.full_like(a, 100))
    stab.apply(a, hole, first)
    second = _filled(a, moved, np.full_like(a, 200))
    stab.apply(a, moved, second)
    assert (second[moved & hole] == 150).all()
    assert (second[moved & ~hole] == 200).all()
    np.testing.assert_array_equal(second[~moved], a[~moved])


def test_bad_settings() -> None:
    for kwargs in ({"strength": 1.0}, {"still": 5, "moving": 5}, {"cut": 0}, {"blur": 4}):
        with pytest.raises(InvalidInputError):
            TemporalStabilizer(**kwargs)
