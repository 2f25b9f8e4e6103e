"""Fine-tuning: a training run starts from a .keras generator or an exported ONNX file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from rmnet_sdk.errors import InvalidInputError, ModelError, ModelNotFoundError  # noqa: E402
from rmnet_sdk.metadata import ModelMetadata  # noqa: E402
from rmnet_sdk.training import preset  # noqa: E402
from rmnet_sdk.training.model import build_generator  # noqa: E402
from rmnet_sdk.training.warmstart import load_initial_weights  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "rmnet_sdk" / "models" / "rmnet_default.onnx"


def _source_generator(gf: int = 8, seed: int = 3) -> keras.Model:
    """A generator whose BatchNorm layers carry non-trivial statistics (as a trained one does),
    so folding them into scale/offset is actually exercised."""
    keras.utils.set_random_seed(seed)
    g = build_generator(gf, mask_channel=True)
    rng = np.random.default_rng(seed)
    for layer in g.layers:
        if isinstance(layer, keras.layers.Conv2D) and layer.name != "enc2_conv":  # one zero bias
            layer.bias.assign(rng.normal(0, 0.1, layer.bias.shape).astype(np.float32))
        if isinstance(layer, keras.layers.BatchNormalization):
            c = int(layer.gamma.shape[0])
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.2, c),
                               rng.normal(0, 0.3, c), rng.uniform(0.5, 2.0, c)])
    return g


def _inputs(size: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    image = rng.uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    hole = (rng.random((2, size, size, 1)) < 0.3).astype(np.float32)
    return [image, hole]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[keras.Model, Path]:
    from rmnet_sdk.export.onnx import keras_to_onnx

    g = _source_generator()
    proto, _ = keras_to_onnx(g, metadata=ModelMetadata(gf=8, mask_channel=True, training_steps=123))
    path = tmp_path_factory.mktemp("warm") / "g.onnx"
    path.write_bytes(proto.SerializeToString())
    return g, path


def test_onnx_import_reproduces_the_source_generator(exported) -> None:
    source, path = exported
    target = build_generator(8, mask_channel=True)
    before = keras.ops.convert_to_numpy(target(_inputs(), training=False))
    meta = load_initial_weights(target, path)
    assert meta.training_steps == 123 and meta.gf == 8
    want = keras.ops.convert_to_numpy(source(_inputs(), training=False))
    got = keras.ops.convert_to_numpy(target(_inputs(), training=False))
    assert np.max(np.abs(got - want)) < 1e-5
    assert np.max(np.abs(before - want)) > 1e-2  # the import changed the weights


def test_keras_import_copies_every_weight(tmp_path: Path) -> None:
    from rmnet_sdk.training.checkpoint import save_generator

    source = _source_generator()
    path = save_generator(source, tmp_path / "g.keras", ModelMetadata(training_steps=40))
    target = build_generator(8, mask_channel=True)
    assert load_initial_weights(target, path).training_steps == 40
    for a, b in zip(source.get_weights(), target.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_sources_fail_clearly(exported, tmp_path: Path) -> None:
    _, path = exported
    with pytest.raises(ModelNotFoundError):
        load_initial_weights(build_generator(8, mask_channel=True), tmp_path / "missing.onnx")
    with pytest.raises(ModelError, match="check gf"):
        load_initial_weights(build_generator(16, mask_channel=True), path)
    with pytest.raises(ModelError, match="mask_channel"):
        load_initial_weights(build_generator(8, mask_channel=False), path)
    with pytest.raises(InvalidInputError, match="freeze_batchnorm"):
        load_initial_weights(build_generator(8, mask_channel=True), path, freeze_batchnorm="none")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a protobuf" * 10)
    with pytest.raises(ModelError):
        load_initial_weights(build_generator(8, mask_channel=True), corrupt)
    other = tmp_path / "weights.h5"
    other.write_bytes(b"x")
    with pytest.raises(InvalidInputError, match=r"\.keras or \.onnx"):
        load_initial_weights(build_generator(8, mask_channel=True), other)


def test_bundled_model_imports_exactly() -> None:
    """The shipped ONNX (what users fine-tune) maps back onto the Keras generator; the importer's
    own parity check against ONNX Runtime passes."""
    from rmnet_sdk.metadata import read_onnx_file_metadata

    shipped = read_onnx_file_metadata(BUNDLED)
    model = build_generator(shipped.gf, mask_channel=shipped.mask_channel, prefill=shipped.prefill)
    meta = load_initial_weights(model, BUNDLED)
    assert meta.name == "rmnet-default" and meta.training_steps > 0 and meta.prefill


def test_training_run_starts_from_the_given_weights(exported, tiny_image_dir: Path,
                                                    tmp_path: Path) -> None:
    """A new run loads the weights, records where they came from, counts their steps in the
    exported model, and a resume takes its weights from the checkpoint, not the source again."""
    from rmnet_sdk.training.checkpoint import read_keras_metadata
    from rmnet_sdk.training.train import Trainer

    source, path = exported
    cfg = preset("tiny", data_dir=str(tiny_image_dir), gf=8, mask_channel=True,
                 freeze_batchnorm="all", init_from=str(path))
    t = Trainer(cfg, tmp_path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(t.G(_inputs(), training=False)),
                               keras.ops.convert_to_numpy(source(_inputs(), training=False)), atol=1e-5)
    record = json.loads((tmp_path / "init.json").read_text())
    assert record["steps"] == 123 and record["path"] == str(path)
    t.fit(steps=2, progress=False)
    assert read_keras_metadata(tmp_path / "generator.keras").training_steps == 125
    trained = t.G.get_weights()
    path.rename(path.with_suffix(".moved"))  # a resume must not need the source any more
    try:
        r = Trainer(cfg, tmp_path)
    finally:
        path.with_suffix(".moved").rename(path)
    assert r.step == 2 and r.init_steps == 123
    for a, b in zip(trained, r.G.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_prefill_model_into_a_plain_generator_says_so() -> None:
    with pytest.raises(ModelError, match="prefill \\+ residual generator: build the model with prefill=True"):
        load_initial_weights(build_generator(32, mask_channel=True), BUNDLED)
