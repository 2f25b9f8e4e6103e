"""The native C++ Inpainter (OpenCV DNN backend) against a Python ONNX Runtime run of the same ONNX.

The model is a tiny R-MNet-shaped ONNX made here (tests/cpp/tiny_onnx.py): the real exporter is not
needed to test the runtime's plumbing, strategies, batching and error handling.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from conftest import require_native, tiny_onnx_module

from rmnet_sdk import imaging, masks
from rmnet_sdk.errors import (
    BackendUnavailableError,
    InvalidInputError,
    ModelError,
    ModelNotFoundError,
    RMNetError,
)

_native = require_native()


@pytest.fixture(scope="module")
def ort_session(tiny_onnx):
    import onnxruntime as ort

    return ort.InferenceSession(str(tiny_onnx), providers=["CPUExecutionProvider"])


def photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xx / w, yy / h, 0.5 + 0.5 * np.sin((xx + yy) / 9)], -1) * 255
    return np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)


def hole_mask(h: int, w: int) -> np.ndarray:
    hole = np.zeros((h, w), np.uint8)
    hole[h // 4: h // 2, w // 3: 2 * w // 3] = 255
    hole[h - 3:, :5] = 1
    return hole


def reference(session, image: np.ndarray, hole: np.ndarray, strategy: str, res: int = 256):
    """The same pipeline in Python: rmnet_sdk.imaging/masks + onnxruntime."""
    hole = hole.astype(bool)
    h, w = hole.shape
    if strategy == "resize":
        small = imaging.resize_image(image, (res, res))
        small_hole = masks.resize_hole_mask(hole, (res, res))
    else:
        ph, pw = (-h) % 16, (-w) % 16
        small = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_REFLECT_101)
        small_hole = np.pad(hole, ((0, ph), (0, pw)))
    x = imaging.to_model_range(small)
    x[small_hole] = 0.0
    pred = session.run(["prediction"], {"image": x.transpose(2, 0, 1)[None],
                                        "mask": small_hole[None, None].astype(np.float32)})[0][0]
    pred = pred.transpose(1, 2, 0)
    fill = imaging.upsample_prediction(pred, (h, w)) if strategy == "resize" else pred[:h, :w]
    return imaging.composite(image, imaging.from_model_range(fill), hole)


@pytest.mark.parametrize("strategy", ["resize", "original"])
@pytest.mark.parametrize("size", [(101, 77), (240, 320), (64, 64)], ids=str)
def test_matches_onnxruntime(tiny_onnx, ort_session, strategy, size):
    rng = np.random.default_rng(sum(size))
    image, hole = photo(rng, *size), hole_mask(*size)
    inpainter = _native.Inpainter(str(tiny_onnx), strategy=strategy)
    assert inpainter.backend == "opencv"
    out = inpainter.run(image, hole)
    ref = reference(ort_session, image, hole, strategy)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[hole == 0], image[hole == 0])
    assert np.abs(out.astype(int) - ref).max() <= 2
    times = inpainter.last_times
    assert set(times) == {"preprocess_ms", "infer_ms", "composite_ms"} and times["infer_ms"] > 0


def test_raw_infer_matches_onnxruntime(tiny_onnx, ort_session):
    """Inpainter.infer: the network alone on model tensors (what a Python backend needs)."""
    rng = np.random.default_rng(6)
    image = rng.uniform(-1, 1, (2, 3, 48, 64)).astype(np.float32)
    mask = (rng.random((2, 1, 48, 64)) < 0.2).astype(np.float32)
    pred = _native.Inpainter(str(tiny_onnx)).infer(image, mask)
    ref = ort_session.run(["prediction"], {"image": image, "mask": mask})[0]
    assert pred.shape == ref.shape and pred.dtype == np.float32
    assert np.abs(pred - ref).max() < 1e-5
    with pytest.raises(InvalidInputError, match="infer"):
        _native.Inpainter(str(tiny_onnx)).infer(image, mask[:, :, :10])


def test_model_size_option(tiny_onnx, ort_session):
    rng = np.random.default_rng(1)
    image, hole = photo(rng, 150, 200), hole_mask(150, 200)
    out = _native.Inpainter(str(tiny_onnx), model_size=128).run(image, hole)
    ref = reference(ort_session, image, hole, "resize", res=128)
    assert np.abs(out.astype(int) - ref).max() <= 2


def test_pitched_views_out_param_and_in_place(tiny_onnx):
    rng = np.random.default_rng(2)
    wide = photo(rng, 101, 120)
    image = wide[:, 13:90]
    hole = np.pad(hole_mask(101, 77), ((0, 0), (4, 6)))[:, 4:81]
    inpainter = _native.Inpainter(str(tiny_onnx))
    expected = inpainter.run(np.ascontiguousarray(image), np.ascontiguousarray(hole))
    np.testing.assert_array_equal(inpainter.run(image, hole), expected)
    canvas = np.zeros((101, 100, 3), np.uint8)
    out = canvas[:, 10:87]  # a pitched, writable output view
    result = inpainter.run(image, hole, out=out)
    assert np.shares_memory(result, canvas)
    np.testing.assert_array_equal(out, expected)
    assert not canvas[:, :10].any() and not canvas[:, 87:].any()  # nothing outside the view
    own = np.ascontiguousarray(image)
    inpainter.run(own, hole, out=own)  # in place
    np.testing.assert_array_equal(own, expected)


def test_bgr(tiny_onnx):
    rng = np.random.default_rng(3)
    image, hole = photo(rng, 80, 60), hole_mask(80, 60)
    inpainter = _native.Inpainter(str(tiny_onnx))
    rgb = inpainter.run(image, hole)
    bgr = inpainter.run(np.ascontiguousarray(image[..., ::-1]), hole, bgr=True)
    np.testing.assert_array_equal(bgr[..., ::-1], rgb)


@pytest.mark.parametrize("strategy", ["resize", "original"])
def test_batch_equals_singles(tiny_onnx, strategy):
    rng = np.random.default_rng(4)
    sizes = [(64, 48), (60, 45), (101, 77)]
    images = [photo(rng, *s) for s in sizes]
    holes = [hole_mask(*s) for s in sizes]
    inpainter = _native.Inpainter(str(tiny_onnx), strategy=strategy)
    batch = inpainter.run_batch(images, holes)
    for out, image, hole in zip(batch, images, holes, strict=True):
        np.testing.assert_array_equal(out, inpainter.run(image, hole))
    stacked = inpainter.run_batch(np.stack([images[0]] * 2), np.stack([holes[0]] * 2))
    np.testing.assert_array_equal(stacked[1], batch[0])


def test_threads_run_concurrently_without_deadlock(tiny_onnx):
    """The GIL is released while running: two inpainters in two threads both finish."""
    rng = np.random.default_rng(5)
    image, hole = photo(rng, 128, 128), hole_mask(128, 128)
    results = {}

    def work(k):
        results[k] = _native.Inpainter(str(tiny_onnx)).run(image, hole)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2
    np.testing.assert_array_equal(results[0], results[1])


def test_bad_inputs(tiny_onnx):
    inpainter = _native.Inpainter(str(tiny_onnx))
    image, hole = np.zeros((40, 30, 3), np.uint8), np.zeros((40, 30), np.uint8)
    with pytest.raises(InvalidInputError, match="HxWx3"):
        inpainter.run(np.zeros((40, 30, 4), np.uint8), hole)
    with pytest.raises(InvalidInputError, match="HxWx3"):
        inpainter.run(np.zeros((40, 30), np.uint8), hole)
    with pytest.raises(InvalidInputError, match="mask is 41x30"):
        inpainter.run(image, np.zeros((41, 30), np.uint8))
    with pytest.raises(InvalidInputError, match="output is"):
        inpainter.run(image, hole, out=np.zeros((40, 31, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="read-only"):
        ro = np.zeros((40, 30, 3), np.uint8)
        ro.flags.writeable = False
        inpainter.run(image, hole, out=ro)
    with pytest.raises(InvalidInputError, match="uint8"):
        inpainter.run(image.astype(np.float32), hole)
    with pytest.raises(InvalidInputError, match="differ in count"):
        inpainter.run_batch([image, image], [hole])


def test_bad_models_and_options(tiny_onnx, tmp_path):
    with pytest.raises(ModelNotFoundError):
        _native.Inpainter(str(tmp_path / "missing.onnx"))
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage" * 50)
    with pytest.raises(ModelError):
        _native.Inpainter(str(corrupt))
    wrong_io = tmp_path / "wrong_io.onnx"
    tiny_onnx_module().build(wrong_io)
    import onnx

    m = onnx.load(str(wrong_io))
    m.graph.input[0].name = "picture"  # the runtime needs inputs named image and mask
    for node in m.graph.node:
        node.input[:] = ["picture" if n == "image" else n for n in node.input]
    onnx.save(m, str(wrong_io))
    with pytest.raises(ModelError, match="'image'"):
        _native.Inpainter(str(wrong_io)).run(np.zeros((32, 32, 3), np.uint8),
                                             np.zeros((32, 32), np.uint8))
    engine = tmp_path / "corrupt.engine"
    engine.write_bytes(b"not an engine")
    with pytest.raises(RMNetError):  # no TensorRT / no GPU / no sidecar: refused, never a crash
        _native.Inpainter(str(engine))
    for kwargs, match in [({"strategy": "tile"}, "strategy"), ({"crop_margin": -1}, "cropMargin"),
                          ({"backend": "onnxruntime"}, "backend"),
                          ({"precision": "int8"}, "precision"), ({"model_size": 250}, "multiple of 16"),
                          ({"precision": "fp16"}, "fp32")]:
        with pytest.raises(InvalidInputError, match=match):
            _native.Inpainter(str(tiny_onnx), **kwargs)


def test_runtime_errors_are_rmnet_errors():
    assert issubclass(_native.NativeRuntimeError, RMNetError)
    assert issubclass(_native.NativeRuntimeError, RuntimeError)


def test_tensorrt_without_gpu_is_unavailable(tiny_onnx):
    if _native.cuda_device_count() > 0:
        pytest.skip("a CUDA device is present")
    with pytest.raises(BackendUnavailableError):
        _native.Inpainter(str(tiny_onnx), backend="tensorrt")


def test_bundled_model_batches_match_onnxruntime() -> None:
    """The real R-MNet graph: OpenCV DNN 4.6 fails on it at N > 1, so the backend runs a batch
    image by image; batch, singles and ONNX Runtime must agree (the spec allows 2 LSB)."""
    if not _native.WITH_OPENCV:
        pytest.skip("rmnet_sdk._native was built without OpenCV (no CPU backend)")
    from rmnet_sdk import Inpainter
    from rmnet_sdk.models import bundled_model

    model = bundled_model("fp32")
    rng = np.random.default_rng(5)
    images = np.stack([photo(rng, 200, 280) for _ in range(3)])
    holes = np.stack([hole_mask(200, 280), hole_mask(200, 280)[::-1], hole_mask(200, 280)[:, ::-1]])
    native = Inpainter(model, backend="native")
    ort = Inpainter(model, backend="onnxruntime")
    batch = native.run(images, holes)
    raw = native.backend.infer(np.zeros((3, 3, 64, 64), np.float32), np.ones((3, 1, 64, 64), np.float32))
    assert raw.shape == (3, 3, 64, 64) and np.isfinite(raw).all()
    for i in range(3):
        single = native.run(images[i], holes[i])
        np.testing.assert_array_equal(batch[i], single)
        assert np.abs(single.astype(int) - ort.run(images[i], holes[i])).max() <= 2
