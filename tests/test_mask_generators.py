"""rmnet_sdk.mask_generators: the synthetic mask generators and the hole-ratio sampler."""

from __future__ import annotations

import numpy as np
import pytest

from rmnet_sdk import mask_generators as G
from rmnet_sdk.errors import InvalidInputError
from rmnet_sdk.masks import HOLE_RATIO_BUCKETS, ratio_bucket

# -- generators ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(G.GENERATORS))
def test_generators_deterministic_and_well_formed(kind: str) -> None:
    assert set(G.GENERATORS) == {"strokes", "irregular", "boxes", "thin", "text", "mixed"}
    for shape in [(128, 128), (96, 160), (20, 15)]:
        a = G.make_mask(kind, shape, 42)
        b = G.GENERATORS[kind](shape, np.random.default_rng(42))
        assert a.dtype == np.bool_ and a.shape == shape and a.any()
        np.testing.assert_array_equal(a, b)
    masks = [G.make_mask(kind, (128, 128), s) for s in range(5)]
    assert len({m.tobytes() for m in masks}) == 5


def test_generators_reject_bad_kind_and_shape() -> None:
    with pytest.raises(InvalidInputError, match="unknown mask kind"):
        G.make_mask("squares", (32, 32), 0)
    with pytest.raises(InvalidInputError):
        G.make_mask("strokes", (0, 32), 0)


# -- sampler -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bucket", range(len(HOLE_RATIO_BUCKETS)))
def test_sample_bucket_stays_inside(bucket: int) -> None:
    lo, hi = HOLE_RATIO_BUCKETS[bucket]
    sampler = G.MaskSampler()
    rng = np.random.default_rng(100 + bucket)
    for _ in range(20):
        m = sampler.sample_bucket((128, 128), rng, bucket)
        assert m.dtype == np.bool_ and m.shape == (128, 128)
        assert lo < m.mean() <= hi
        assert ratio_bucket(float(m.mean())) == bucket


def test_sample_range_and_bucket_coverage() -> None:
    sampler = G.MaskSampler(kinds=("strokes", "irregular", "boxes"), ratio_range=(0.01, 0.6))
    rng = np.random.default_rng(2024)
    ratios = np.array([sampler.sample((96, 96), rng).mean() for _ in range(200)])
    assert ((ratios >= 0.01) & (ratios <= 0.6)).all()
    assert {ratio_bucket(r) for r in ratios} == set(range(len(HOLE_RATIO_BUCKETS)))


@pytest.mark.parametrize("kind", G.MASK_KINDS)
def test_sample_each_kind_in_range_and_deterministic(kind: str) -> None:
    sampler = G.MaskSampler(kinds=(kind,), ratio_range=(0.01, 0.6))
    rng = np.random.default_rng(5)
    for _ in range(50 if kind == "strokes" else 20):
        r = sampler.sample((64, 80), rng).mean()
        assert 0.01 <= r <= 0.6
    a = sampler.sample((64, 64), np.random.default_rng(9))
    np.testing.assert_array_equal(a, sampler.sample((64, 64), np.random.default_rng(9)))


def test_sampler_fallback_and_impossible_ranges() -> None:
    # One drawing step only: the deterministic fill-up must still land inside the range.
    sampler = G.MaskSampler(kinds=("strokes",), ratio_range=(0.45, 0.5), max_steps=1)
    rng = np.random.default_rng(0)
    for _ in range(10):
        assert 0.45 < sampler.sample((40, 40), rng).mean() <= 0.5
    # Tiny images: still exact when some count fits, an error when none does.
    assert 0.3 < G.MaskSampler().sample_bucket((5, 5), rng, 3).mean() <= 0.4
    with pytest.raises(InvalidInputError, match="no 2x2 mask"):
        G.MaskSampler().sample_bucket((2, 2), rng, 3)
    with pytest.raises(InvalidInputError):
        G.MaskSampler(ratio_range=(0.5, 0.2))
    with pytest.raises(InvalidInputError):
        G.MaskSampler(kinds=("squiggles",))
    with pytest.raises(InvalidInputError):
        G.MaskSampler().sample_bucket((32, 32), rng, 6)
