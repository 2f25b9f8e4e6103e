"""TensorRT backend logic on the CPU: the engine calls are replaced by a fake session."""

from __future__ import annotations

import numpy as np
import pytest

from rmnet_sdk.backends import cuda_device_count
from rmnet_sdk.backends.tensorrt import (
    Profile,
    TensorRTBackend,
    _BufferPool,
    buffer_nbytes,
    select_profile,
    split_batch,
)
from rmnet_sdk.errors import BackendUnavailableError, InvalidInputError

SMALL = Profile((1, 256, 256), (1, 256, 256), (4, 512, 512))
LARGE = Profile((1, 512, 512), (1, 1024, 1024), (2, 2048, 2048))


class FakeSession:
    """Records calls; 'infers' 0.5 * image so results are checkable."""

    def __init__(self, profiles: list[Profile]) -> None:
        self._profiles = profiles
        self.calls: list[tuple[int, tuple[int, ...]]] = []

    def profiles(self) -> list[Profile]:
        return self._profiles

    def run(self, profile: int, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        p = self._profiles[profile]
        assert p.accepts(image.shape[0], image.shape[2], image.shape[3])
        assert mask.shape == (image.shape[0], 1, *image.shape[2:])
        self.calls.append((profile, image.shape))
        return 0.5 * image

    def close(self) -> None:
        pass


def test_select_profile_prefers_fitting_and_closest_opt() -> None:
    assert select_profile([SMALL, LARGE], 1, 256, 256) == 0
    assert select_profile([SMALL, LARGE], 1, 1024, 768) == 1
    assert select_profile([SMALL, LARGE], 1, 512, 512) == 0  # both fit; SMALL's opt is closer
    assert select_profile([SMALL, LARGE], 3, 512, 512) == 0  # only SMALL takes N=3 whole
    with pytest.raises(InvalidInputError, match="no optimisation profile"):
        select_profile([SMALL], 1, 1024, 1024)


def test_split_batch() -> None:
    assert split_batch(10, 4) == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert split_batch(3, 4) == [slice(0, 3)]
    with pytest.raises(ValueError):
        split_batch(3, 0)


def test_buffers_are_sized_from_shape_and_allocated_once() -> None:
    assert buffer_nbytes((2, 3, 256, 256), np.float16) == 2 * 3 * 256 * 256 * 2
    sizes = []
    pool = _BufferPool(lambda shape, dt: np.empty(shape, dt), lambda n: sizes.append(n) or n)
    for _ in range(3):
        pool.get("image", (1, 3, 256, 256), np.float16)
    pool.get("image", (2, 3, 256, 256), np.float16)
    assert pool.allocations == 2 and sizes == [393216, 786432]


def test_backend_splits_large_batches_and_keeps_order() -> None:
    fake = FakeSession([SMALL, LARGE])
    backend = TensorRTBackend("model.engine", session=fake)
    assert backend.max_batch == 4
    image = np.random.default_rng(0).uniform(-1, 1, (10, 3, 256, 256)).astype(np.float32)
    mask = np.zeros((10, 1, 256, 256), np.float32)
    out = backend.infer(image, mask)
    np.testing.assert_array_equal(out, 0.5 * image)
    assert [c[1][0] for c in fake.calls] == [4, 4, 2]
    assert all(c[0] == 0 for c in fake.calls)


def test_backend_requires_a_gpu() -> None:
    if cuda_device_count() > 0:
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(BackendUnavailableError, match="GPU"):
        TensorRTBackend("model.engine")


def test_inpainter_runs_through_tensorrt_logic(toy_onnx) -> None:
    """The Inpainter's batching meets the TensorRT backend's splitting end to end."""
    from rmnet_sdk import Inpainter

    inp = Inpainter(toy_onnx, backend="onnxruntime")
    fake = FakeSession([Profile((1, 64, 64), (2, 64, 64), (2, 64, 64))])
    inp.backend = TensorRTBackend("x.engine", session=fake, metadata=inp.metadata)
    imgs = np.random.default_rng(1).integers(0, 256, (5, 80, 60, 3), dtype=np.uint8)
    holes = np.zeros((5, 80, 60), bool)
    holes[:, 10:30, 10:40] = True
    # the engine's only profile is the model size: "auto" must not pick full resolution
    assert inp.resolve_strategy(80, 60) == "resize"
    assert inp.backend.accepts_size(64, 64) and not inp.backend.accepts_size(80, 64)
    out = inp.run(imgs, holes)
    np.testing.assert_array_equal(out[~holes], imgs[~holes])
    assert [c[1][0] for c in fake.calls] == [2, 2, 1]


@pytest.mark.gpu
def test_tensorrt_matches_onnxruntime_on_gpu(toy_onnx, tmp_path, monkeypatch) -> None:
    """Full TensorRT + pycuda on a real GPU: the engine is built through the cache and agrees
    with ONNX Runtime (fp32 toy model) within 2 LSB through Inpainter.run."""
    from rmnet_sdk import Inpainter
    from rmnet_sdk.backends import available_backends

    reason = available_backends()["tensorrt"]
    if reason is not None:
        pytest.skip(f"needs TensorRT and a CUDA GPU: {reason}")
    monkeypatch.setenv("RMNET_CACHE_DIR", str(tmp_path))
    trt = Inpainter(toy_onnx, backend="tensorrt")
    ort = Inpainter(toy_onnx, backend="onnxruntime")
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    hole = np.zeros((300, 200), bool)
    hole[50:150, 40:120] = True
    a, b = trt.run(img, hole), ort.run(img, hole)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2
    np.testing.assert_array_equal(a[~hole], img[~hole])
