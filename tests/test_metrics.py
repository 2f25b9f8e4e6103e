"""rmnet_sdk.metrics against scikit-image / SciPy references (test-only dependencies)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo

from rmnet_sdk import metrics
from rmnet_sdk.errors import InvalidInputError, ModelNotFoundError

skm = pytest.importorskip("skimage.metrics")
scipy_linalg = pytest.importorskip("scipy.linalg")

SSIM_KW = dict(channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5,
               use_sample_covariance=False)


def _pair(kind: str, shape: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "random":
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        b = rng.integers(0, 256, shape, dtype=np.uint8)
    else:  # smooth photo-like image and a mildly corrupted copy
        a = synthetic_photo(rng, shape[0], shape[1])
        noise = rng.normal(0, 6, shape)
        b = np.clip(a + noise, 0, 255).astype(np.uint8)
        b[shape[0] // 3: shape[0] // 2, 4:20] = 128  # a badly filled block
    return a, b


def _hole(shape: tuple[int, int], seed: int) -> np.ndarray:
    h = np.random.default_rng(seed).random(shape) < 0.2
    h[2:9, 3:15] = True
    return h


CASES = [(k, s) for k in ("random", "smooth") for s in ((64, 64, 3), (37, 50, 3))]


@pytest.mark.parametrize("kind, shape", CASES)
def test_whole_image_metrics_match_skimage(kind: str, shape: tuple[int, int, int]) -> None:
    a, b = _pair(kind, shape, 1)
    ref_ssim = skm.structural_similarity(a, b, **SSIM_KW)
    assert metrics.ssim(a, b) == pytest.approx(ref_ssim, abs=1e-6)
    assert metrics.psnr(a, b) == pytest.approx(skm.peak_signal_noise_ratio(a, b, data_range=255),
                                               abs=1e-9)
    ref_mae = np.abs(a.astype(np.float64) - b.astype(np.float64)).mean()
    assert metrics.mae(a, b) == pytest.approx(ref_mae, abs=1e-12)
    _, ref_map = skm.structural_similarity(a, b, full=True, **SSIM_KW)
    np.testing.assert_allclose(metrics.ssim_map(a, b), ref_map, atol=1e-9)


def test_grayscale_ssim_matches_skimage() -> None:
    a, b = _pair("smooth", (40, 33, 3), 2)
    kw = {k: v for k, v in SSIM_KW.items() if k != "channel_axis"}
    assert metrics.ssim(a[..., 1], b[..., 1]) == pytest.approx(
        skm.structural_similarity(a[..., 1], b[..., 1], **kw), abs=1e-6)


@pytest.mark.parametrize("kind, shape", CASES)
def test_hole_metrics_equal_manual_computation(kind: str, shape: tuple[int, int, int]) -> None:
    a, b = _pair(kind, shape, 3)
    hole = _hole(shape[:2], 4)
    d = a[hole].astype(np.float64) - b[hole].astype(np.float64)  # (n, 3)
    assert metrics.psnr(a, b, hole) == pytest.approx(
        20 * math.log10(255 / math.sqrt(np.mean(d**2))), abs=1e-9)
    assert metrics.mae(a, b, hole.astype(np.uint8) * 255) == pytest.approx(np.abs(d).mean())
    _, ref_map = skm.structural_similarity(a, b, full=True, **SSIM_KW)
    assert metrics.ssim(a, b, hole) == pytest.approx(ref_map[hole].mean(), abs=1e-6)
    # The hole restriction really changes the answer (the damage is not uniform).
    if kind == "smooth":
        assert metrics.psnr(a, b, hole) != pytest.approx(metrics.psnr(a, b), abs=0.1)


def test_evaluate_pair_keys_and_consistency() -> None:
    a, b = _pair("smooth", (64, 64, 3), 5)
    hole = _hole((64, 64), 6)
    res = metrics.evaluate_pair(a, b, hole)
    assert set(res) == {"psnr", "ssim", "mae", "psnr_hole", "ssim_hole", "mae_hole"}
    assert res["psnr"] == metrics.psnr(a, b) and res["psnr_hole"] == metrics.psnr(a, b, hole)
    assert res["ssim"] == pytest.approx(metrics.ssim(a, b), abs=1e-12)
    assert res["ssim_hole"] == pytest.approx(metrics.ssim(a, b, hole), abs=1e-12)
    assert res["mae"] == pytest.approx(metrics.mae(a, b))
    assert res["mae_hole"] == pytest.approx(metrics.mae(a, b, hole))
    assert all(isinstance(v, float) for v in res.values())

    batch = metrics.evaluate_batch([a, a], [b, a], [hole, np.zeros_like(hole)])
    assert batch["count"] == 2 and batch["psnr"] == math.inf
    assert batch["mae"] == pytest.approx(res["mae"] / 2)
    assert batch["mae_hole"] == pytest.approx(res["mae_hole"])  # the empty hole is skipped


def test_identical_and_empty_hole() -> None:
    a, _ = _pair("smooth", (32, 32, 3), 7)
    assert metrics.psnr(a, a) == math.inf
    assert metrics.psnr(a, a.copy(), _hole((32, 32), 1)) == math.inf
    assert metrics.ssim(a, a) == pytest.approx(1.0) and metrics.mae(a, a) == 0.0
    b = a.copy()
    b[0, 0, 0] ^= 1  # one channel of one pixel off by one
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255**2 * 32 * 32 * 3))
    empty = np.zeros((32, 32), bool)
    for fn in (metrics.psnr, metrics.mae, metrics.ssim):
        assert math.isnan(fn(a, b, empty))
    res = metrics.evaluate_pair(a, b, empty)
    assert math.isnan(res["psnr_hole"]) and math.isnan(res["ssim_hole"])
    assert math.isnan(res["mae_hole"]) and not math.isnan(res["psnr"])


@pytest.mark.parametrize("a, b", [
    (np.zeros((16, 16, 3), np.uint8), np.zeros((16, 17, 3), np.uint8)),
    (np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16, 3), np.float32)),
    (np.zeros((16, 16, 3), np.float64), np.zeros((16, 16, 3), np.float64)),
    (np.zeros((16, 16, 4), np.uint8), np.zeros((16, 16, 4), np.uint8)),
    (np.zeros((2, 16, 16, 3), np.uint8), np.zeros((2, 16, 16, 3), np.uint8)),
    (np.zeros((0, 16, 3), np.uint8), np.zeros((0, 16, 3), np.uint8)),
])
def test_bad_inputs_raise(a: np.ndarray, b: np.ndarray) -> None:
    for fn in (metrics.psnr, metrics.mae, metrics.ssim):
        with pytest.raises(InvalidInputError):
            fn(a, b)


def test_bad_hole_and_tiny_ssim_raise() -> None:
    a = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(InvalidInputError, match="hole mask"):
        metrics.psnr(a, a, np.zeros((16, 15), bool))
    with pytest.raises(InvalidInputError, match="at least 11x11"):
        metrics.ssim(a[:10], a[:10])


# -- FID -----------------------------------------------------------------------------------------

def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    x = rng.normal(size=(d, 3 * d))
    return x @ x.T / (3 * d) + 1e-3 * np.eye(d)


def _fid_reference(mu1, s1, mu2, s2) -> float:
    covmean = scipy_linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("d", [1, 4, 32, 64])
def test_frechet_distance_matches_scipy(d: int) -> None:
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    ref = _fid_reference(mu1, s1, mu2, s2)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-6)
    # Same distribution: 0 (up to round-off), and symmetric.
    assert abs(metrics.frechet_distance(mu1, s1, mu1, s1)) < 1e-8 * max(1.0, np.trace(s1))
    assert metrics.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(ref, rel=1e-6)


def test_frechet_distance_singular_covariance_is_finite() -> None:
    rng = np.random.default_rng(0)
    f1, f2 = rng.normal(size=(5, 20)), rng.normal(size=(5, 20)) + 0.5  # rank-deficient (N < D)
    (mu1, s1), (mu2, s2) = metrics.feature_statistics(f1), metrics.feature_statistics(f2)
    d = metrics.frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(d) and d > 0
    with pytest.raises(InvalidInputError):
        metrics.frechet_distance(mu1, s1, mu2[:3], s2)


def test_fid_missing_weights_explains(tmp_path: Path) -> None:
    imgs = [np.zeros((32, 32, 3), np.uint8)] * 2
    with pytest.raises(ModelNotFoundError) as info:
        metrics.fid(imgs, imgs, inception_weights=tmp_path / "inception.onnx")
    msg = str(info.value)
    assert "Inception" in msg and "download" in msg and "inception_weights" in msg


def test_fid_runs_an_onnx_feature_extractor(tmp_path: Path) -> None:
    """A stand-in 'Inception' (global average pool -> N x 3) exercises the whole FID path."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from conftest import make_pooling_inception

    path = make_pooling_inception(tmp_path / "tiny.onnx")

    rng = np.random.default_rng(0)
    real = [synthetic_photo(rng, 40, 48) for _ in range(6)]
    fake = [np.clip(im.astype(int) + rng.integers(0, 60), 0, 255).astype(np.uint8) for im in real]
    got = metrics.fid(real, fake, inception_weights=path, batch_size=4)

    import cv2

    def feats(ims):  # resize to 299 bilinearly, [0, 1], per-channel mean = the pooled feature
        return np.stack([cv2.resize(im, (299, 299), interpolation=cv2.INTER_LINEAR)
                         .astype(np.float64).mean(axis=(0, 1)) / 255 for im in ims])

    (mu1, s1), (mu2, s2) = metrics.feature_statistics(feats(real)), metrics.feature_statistics(feats(fake))
    assert got == pytest.approx(_fid_reference(mu1, s1, mu2, s2), rel=1e-4)
    assert got > 1e-3
    assert abs(metrics.fid(real, real, inception_weights=path)) < 1e-9
    with pytest.raises(InvalidInputError, match="at least 2"):
        metrics.fid(real[:1], fake, inception_weights=path)
