"""``rmnet_sdk._ort.create_session``: the one place ONNX Runtime sessions are opened."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rmnet_sdk._ort import create_session
from rmnet_sdk.errors import ModelError


def _feeds(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = (rng.random((1, 1, 32, 48)) < 0.3).astype(np.float32)
    return {"image": rng.uniform(-1, 1, (1, 3, 32, 48)).astype(np.float32), "mask": mask}


def test_path_and_bytes_give_the_same_prediction(toy_onnx):
    feeds = _feeds()
    (from_path,) = create_session(toy_onnx, threads=1).run(["prediction"], feeds)
    (from_bytes,) = create_session(toy_onnx.read_bytes(), optimize=False).run(["prediction"], feeds)
    assert from_path.shape == (1, 3, 32, 48)
    np.testing.assert_allclose(from_path, from_bytes, atol=1e-6)
    # the toy model is tanh(conv(image * (1 - mask))): a bounded, input-dependent output
    assert np.abs(from_path).max() < 1 and from_path.std() > 0.05


def test_profile_prefix_writes_a_profile(toy_onnx, tmp_path):
    session = create_session(toy_onnx, profile_prefix=str(tmp_path / "prof"))
    session.run(["prediction"], _feeds())
    profile = Path(session.end_profiling())
    if not profile.is_absolute():
        profile = Path.cwd() / profile
    try:
        assert profile.name.startswith("prof") and profile.stat().st_size > 0
    finally:
        profile.unlink(missing_ok=True)


def test_corrupt_file_is_a_model_error_naming_it(tmp_path):
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match=r"ONNX Runtime cannot load .*corrupt\.onnx"):
        create_session(bad)


def test_corrupt_bytes_are_a_model_error():
    with pytest.raises(ModelError, match="ONNX Runtime cannot load the model"):
        create_session(b"not an onnx model")
