"""TensorRT backend logic on the CPU: the engine calls are replaced by a fake session."""

from __future__ import annotations

import numpy as np
import pytest

from rmnet_sdk.backends import cuda_device_count
from rmnet_sdk.backends.tensorrt import (
    Profile,
    TensorRTBackend,
    _BufferPool,
    _EngineSession,
    buffer_nbytes,
    plan_batches,
    select_profile,
    split_batch,
)
from rmnet_sdk.errors import (
    BackendUnavailableError,
    EngineMismatchError,
    InvalidInputError,
    ModelError,
    ModelNotFoundError,
)

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


def test_backend_requires_a_gpu(tmp_path) -> None:
    if cuda_device_count() > 0:
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(ModelNotFoundError):
        TensorRTBackend(tmp_path / "model.engine")
    with pytest.raises(BackendUnavailableError, match="GPU"):
        TensorRTBackend(tmp_path / "model.onnx")  # built on the GPU: asked for before anything


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


# -- batches per profile (the C++ rule: tests/cpp/test_gpu_logic.cpp batchesAreCutPerProfile) ------

TINY = Profile((1, 256, 256), (1, 256, 256), (2, 512, 512))
BIG = Profile((4, 256, 256), (8, 512, 512), (8, 1024, 1024))


def _plan(profiles: list[Profile], n: int, h: int, w: int) -> str:
    return " ".join(f"{p.stop - p.start}@{i}" for p, i in plan_batches(profiles, n, h, w))


def test_batches_are_planned_per_profile_like_the_cpp_runtime() -> None:
    ps = [TINY, BIG]
    assert _plan(ps, 1, 256, 256) == "1@0"
    assert _plan(ps, 3, 256, 256) == "2@0 1@0"  # BIG's min N is 4: it cannot take 3
    assert _plan(ps, 10, 256, 256) == "8@1 2@0"
    assert _plan(ps, 16, 512, 512) == "8@1 8@1"
    assert _plan(ps, 8, 1024, 1024) == "8@1"
    with pytest.raises(InvalidInputError, match="minimum batch"):
        _plan(ps, 3, 1024, 1024)
    with pytest.raises(InvalidInputError, match="no optimisation profile"):
        _plan(ps, 1, 2048, 2048)
    twins = [Profile((1, 64, 64), (1, 512, 512), (4, 512, 512)),
             Profile((1, 64, 64), (4, 128, 128), (4, 512, 512))]
    assert _plan(twins, 4, 128, 128) == "4@1" and _plan(twins, 1, 512, 512) == "1@0"


def test_backend_never_sends_a_chunk_its_profile_refuses() -> None:
    fake = FakeSession([TINY, BIG])  # its run() asserts the profile accepts the chunk
    backend = TensorRTBackend("model.engine", session=fake)
    image = np.random.default_rng(0).uniform(-1, 1, (3, 3, 256, 256)).astype(np.float32)
    out = backend.infer(image, np.zeros((3, 1, 256, 256), np.float32))
    np.testing.assert_array_equal(out, 0.5 * image)
    assert [(c[0], c[1][0]) for c in fake.calls] == [(0, 2), (0, 1)]


def test_buffer_pool_is_bounded() -> None:
    pool = _BufferPool(lambda shape, dt: np.empty(shape, dt), lambda n: n, capacity=4)
    for size in range(16, 16 * 20, 16):
        pool.get("image", (1, 3, size, size), np.float32)
    assert len(pool) == 4 and pool.allocations == 19
    pool.get("image", (1, 3, 16 * 19, 16 * 19), np.float32)  # most recent: still there
    assert pool.allocations == 19


# -- the engine session against fakes of pycuda and the TensorRT Python API ---------------------

class FakeCuda:
    """pycuda.driver: records which device's context is current and what happens in it."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.devices: list[int] = []
        self.current: list[int] = []
        cuda = self

        class Context:
            def __init__(self, device: int) -> None:
                self.device = device

            def push(self) -> None:
                cuda.current.append(self.device)

            def pop(self) -> None:
                cuda.current.pop()

            def detach(self) -> None:
                cuda.events.append(f"detach {self.device}")

        class Device:
            def __init__(self, i: int) -> None:
                cuda.devices.append(i)
                self.i = i

            def retain_primary_context(self) -> Context:
                return Context(self.i)

        class Stream:
            handle = 7

            def synchronize(self) -> None:
                cuda.events.append("sync")

        self.Device, self.Stream = Device, Stream

    def init(self) -> None:
        pass

    def pagelocked_empty(self, shape: tuple, dtype: np.dtype) -> np.ndarray:
        return np.empty(shape, dtype)

    def mem_alloc(self, nbytes: int) -> int:
        return 1000 + nbytes

    def memcpy_htod_async(self, d: int, h: np.ndarray, stream: object) -> None:
        self.last_upload = h.copy()

    def memcpy_dtoh_async(self, h: np.ndarray, d: int, stream: object) -> None:
        h[...] = 0.25


class FakeTrtRuntime:
    """tensorrt: an engine with one profile N 1-2 at 64-128 whose context checks shapes."""

    def __init__(self, cuda: FakeCuda) -> None:
        trt = self
        self.cuda = cuda

        class Logger:
            WARNING = 2

            def __init__(self, level: int) -> None:
                pass

        class Context:
            def __init__(self) -> None:
                self.shapes: dict[str, tuple] = {}

            def set_optimization_profile_async(self, i: int, stream: int) -> bool:
                return i == 0

            def set_input_shape(self, name: str, shape: tuple) -> bool:
                n, _, h, w = shape
                if not (1 <= n <= 2 and 64 <= h <= 128 and 64 <= w <= 128):
                    return False
                self.shapes[name] = tuple(shape)
                return True

            def get_tensor_shape(self, name: str) -> tuple:
                n, _, h, w = self.shapes["image"]
                return (n, 3, h, w)

            def set_tensor_address(self, name: str, address: int) -> bool:
                return True

            def execute_async_v3(self, stream: int) -> bool:
                return True

            def __del__(self) -> None:
                trt.cuda.events.append(f"context freed in {trt.cuda.current[-1:]}")

        class Engine:
            num_optimization_profiles = 1

            def create_execution_context(self) -> Context:
                return Context()

            def get_tensor_profile_shape(self, name: str, i: int) -> tuple:
                return ((1, 3, 64, 64), (1, 3, 64, 64), (2, 3, 128, 128))

            def get_tensor_dtype(self, name: str) -> str:
                return "float32"

        class Runtime:
            def __init__(self, logger: object) -> None:
                pass

            def deserialize_cuda_engine(self, blob: bytes) -> Engine | None:
                return Engine() if blob == b"ok" else None

        self.Logger, self.Runtime = Logger, Runtime

    @staticmethod
    def nptype(dtype: str) -> type:
        return np.float32


def test_session_uses_the_device_checks_shapes_and_frees_in_its_context() -> None:
    cuda = FakeCuda()
    session = _EngineSession(b"ok", 1, trt=FakeTrtRuntime(cuda), cuda=cuda)
    assert cuda.devices == [1] and cuda.current == []  # device 1's context, not pushed between calls
    out = session.run(0, np.zeros((2, 3, 64, 96), np.float32), np.zeros((2, 1, 64, 96), np.float32))
    assert out.shape == (2, 3, 64, 96) and (out == 0.25).all()
    with pytest.raises(InvalidInputError, match="refused image shape"):
        session.run(0, np.zeros((3, 3, 64, 64), np.float32), np.zeros((3, 1, 64, 64), np.float32))
    assert cuda.events[-1] == "sync" and cuda.current == []  # drained, context popped
    with pytest.raises(ModelError, match="profile 1"):
        session.run(1, np.zeros((1, 3, 64, 64), np.float32), np.zeros((1, 1, 64, 64), np.float32))
    session.close()
    assert "context freed in [1]" in cuda.events  # freed while device 1's context was current
    assert cuda.events.index("context freed in [1]") < cuda.events.index("detach 1")
    session.close()  # idempotent
    with pytest.raises(ModelError, match="deserialize"):
        _EngineSession(b"bad", 0, trt=FakeTrtRuntime(cuda), cuda=cuda)
    assert cuda.events[-1] == "detach 0" and cuda.current == []


# -- an engine's checks, in order, without a GPU ---------------------------------------------------

def _write_engine(tmp_path, flavour: str, engine: bytes = b"engine bytes") -> object:
    import hashlib
    import json

    path = tmp_path / "m.engine"
    path.write_bytes(engine)
    sidecar = {"flavour": flavour, "trt_version": "1.7.1", "compute_capability": ["8.6", "8.9"],
               "precision": "fp16", "profiles": [{"min": [1, 64, 64], "opt": [1, 64, 64],
                                                  "max": [1, 64, 64]}],
               "onnx_sha256": "ab" * 32, "engine_sha256": hashlib.sha256(engine).hexdigest(),
               "engine_bytes": len(engine)}
    (tmp_path / "m.engine.json").write_text(json.dumps(sidecar))
    return path


def test_rtx_engine_gets_past_every_check_up_to_no_gpu(tmp_path) -> None:
    pytest.importorskip("tensorrt_rtx")
    if cuda_device_count() > 0:
        pytest.skip("a CUDA GPU is present")
    from rmnet_sdk import Inpainter

    engine = _write_engine(tmp_path, "tensorrt-rtx")
    for make in (lambda: TensorRTBackend(engine), lambda: Inpainter(engine)):
        with pytest.raises(BackendUnavailableError, match="none found") as info:
            make()
        assert "tensorrt_rtx" in str(info.value) and "not installed" not in str(info.value)
    engine.write_bytes(b"ENGINE BYTES")  # replaced: refused before the GPU is even asked for
    with pytest.raises(EngineMismatchError, match="sha256"):
        TensorRTBackend(engine)


def test_engine_of_a_missing_flavour_says_what_to_install(tmp_path, monkeypatch) -> None:
    import importlib

    real = importlib.import_module

    def no_tensorrt(name: str, *a: object) -> object:
        if name == "tensorrt":
            raise ImportError("No module named 'tensorrt'")
        return real(name, *a)

    monkeypatch.setattr(importlib, "import_module", no_tensorrt)
    engine = _write_engine(tmp_path, "tensorrt")
    with pytest.raises(BackendUnavailableError, match="built with tensorrt.*rmnet-sdk\\[tensorrt\\]"):
        TensorRTBackend(engine)
    engine = _write_engine(tmp_path, "tensorrt-llm")
    with pytest.raises(EngineMismatchError, match="unknown flavour"):
        TensorRTBackend(engine)


def test_native_backend_checks_the_engine_and_serialises_threads(tmp_path, toy_onnx,
                                                                 monkeypatch) -> None:
    import threading
    import time

    from rmnet_sdk import backends
    from rmnet_sdk.backends.native import NativeBackend

    inside, overlaps = [], []

    class FakeImpl:
        backend = "fake"

        def __init__(self, path: str, **kw: object) -> None:
            pass

        def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
            if inside:
                overlaps.append(True)
            inside.append(True)
            time.sleep(0.01)
            inside.pop()
            return np.zeros((image.shape[0], 3, *image.shape[2:]), np.float32)

    class FakeNative:
        Inpainter = FakeImpl

    monkeypatch.setattr(backends, "load_native", lambda: FakeNative)
    engine = _write_engine(tmp_path, "tensorrt")
    engine.write_bytes(b"ENGINE BYTES")  # replaced next to its old sidecar
    with pytest.raises(EngineMismatchError, match="sha256"):
        NativeBackend(engine)
    backend = NativeBackend(toy_onnx)
    x, m = np.zeros((1, 3, 16, 16), np.float32), np.zeros((1, 1, 16, 16), np.float32)
    threads = [threading.Thread(target=lambda: [backend.infer(x, m) for _ in range(5)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps
