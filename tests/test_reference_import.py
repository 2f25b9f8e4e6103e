"""Import of the reference implementation's Keras 2 checkpoints (Jireh-Jam/R-MNet-Inpainting-keras).

The real ``.h5`` files cannot be downloaded here, so the tests rebuild the reference generator
in Keras 3 (same layer order, names and shapes, Keras 2 / TF 1 semantics where they differ from
Keras 3), give it random weights and BatchNorm statistics, and write its weights with ``h5py`` in
the two HDF5 layouts Keras 2 writes (``save_weights`` and ``model.save``). The import must then
reproduce the rebuilt reference's output.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
h5py = pytest.importorskip("h5py")

from rmnet_sdk.training.model import build_generator, upsample2x  # noqa: E402

EXACT = 1e-5


def _tf1_resize_bilinear(x: np.ndarray) -> np.ndarray:
    """Keras 2's ``UpSampling2D(interpolation='bilinear')`` on TF 1: no half-pixel centres."""
    h, w = x.shape[1:3]
    return tf.compat.v1.image.resize_bilinear(x, (2 * h, 2 * w), half_pixel_centers=False).numpy()


@pytest.mark.parametrize("shape", [(2, 5, 7, 3), (1, 4, 4, 6), (1, 1, 3, 2)])
def test_asymmetric_upsampling_is_tf1_resize_bilinear(shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    inp = keras.Input(shape[1:])
    asymmetric = keras.Model(inp, upsample2x(inp, "asymmetric", name="up"))
    half_pixel = keras.Model(inp, upsample2x(inp, "bilinear", name="up"))
    expected = _tf1_resize_bilinear(x)
    assert np.abs(asymmetric.predict(x, verbose=0) - expected).max() <= EXACT
    # Keras 3's own bilinear is a different function: the option is needed
    assert np.abs(half_pixel.predict(x, verbose=0) - expected).max() > 0.1


def test_generator_upsampling_option() -> None:
    with pytest.raises(ValueError, match="upsampling"):
        build_generator(8, upsampling="bicubic")
    names = {layer.name for layer in build_generator(8, upsampling="asymmetric").layers}
    assert {"dec1_up", "dec1_up_mean", "dec4_up_mean"} <= names
    # the default graph keeps its layer names and weights
    default = build_generator(8)
    assert "dec1_up_mean" not in {layer.name for layer in default.layers}
    assert len(default.weights) == len(build_generator(8, upsampling="asymmetric").weights)


# -- the reference generator, rebuilt in Keras 3 with Keras 2 semantics ---------------------------

GF = 8
KERAS2_VERSION = b"2.3.1"
#: Keras 2 numbers automatic names per process: the reference builds its critic (3 BatchNorms)
#: before the generator, so the generator's BatchNorms are batch_normalization_4 ... _11.
GENERATOR_BN_NAMES = [f"batch_normalization_{k}" for k in range(4, 12)]


def _keras2_upsampling(x):
    size = tf.shape(x)[1:3] * 2
    return tf.compat.v1.image.resize_bilinear(x, size, half_pixel_centers=False)


def reference_generator(gf: int = GF) -> keras.Model:
    """``rmnet.py``'s ``build_generator`` in Keras 3, written from its description: masking
    inside the model, five dilated 5x5 encoder convs (LeakyReLU 0.2, BatchNorm 0.8 on the first
    four, max-pooling between, dropout after the fifth), four decoder stages of TF 1 bilinear x2,
    3x3 ``Conv2DTranspose``, ReLU and BatchNorm, a tanh ``Conv2DTranspose`` to three channels,
    and the composited image with the mask appended as output. Outputs ``[composited+mask, raw]``.
    """
    L = keras.layers
    bn_names = iter(GENERATOR_BN_NAMES)
    image = keras.Input((None, None, 3), name="image_input")
    mask = keras.Input((None, None, 1), name="mask_input")
    keep = L.Lambda(lambda m: 1.0 - m, name="lambda_1")(mask)
    masked = L.Multiply(name="multiply_1")([image, keep])
    x = masked
    for i, width in enumerate((gf, gf, 2 * gf, 4 * gf, 8 * gf), start=1):
        x = L.Conv2D(width, 5, dilation_rate=2, padding="same", name=f"enc_conv_{i}")(x)
        x = L.LeakyReLU(negative_slope=0.2, name=f"leaky_re_lu_{i}")(x)
        if i < 5:
            x = L.BatchNormalization(momentum=0.8, name=next(bn_names))(x)
            x = L.MaxPooling2D(2, name=f"max_pooling2d_{i}")(x)
        else:
            x = L.Dropout(0.5, name="dropout_5")(x)
    for i, width in enumerate((8 * gf, 4 * gf, 2 * gf, gf), start=1):
        x = L.Lambda(_keras2_upsampling, name=f"up_sampling2d_{i}")(x)
        x = L.Conv2DTranspose(width, 3, padding="same", name=f"upsample_conv_{i}")(x)
        x = L.Activation("relu", name=f"activation_{i}")(x)
        x = L.BatchNormalization(momentum=0.8, name=next(bn_names))(x)
    raw = L.Conv2DTranspose(3, 3, padding="same", name="final_output")(x)
    raw = L.Activation("tanh", name="activation_5")(raw)
    filled = L.Add(name="add_1")([masked, L.Multiply(name="multiply_2")([raw, mask])])
    out = L.Concatenate(name="concatenate_1")([filled, mask])
    return keras.Model([image, mask], [out, raw], name="model_2")


def randomise(model: keras.Model, seed: int = 0) -> keras.Model:
    """He-scaled random kernels, random biases and non-trivial BatchNorm statistics."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for v in layer.weights:
            shape, kind = tuple(v.shape), v.path.split("/")[-1]
            if kind == "kernel":
                fan_in = int(np.prod(shape[:2])) * (shape[3] if "transpose" in
                                                     type(layer).__name__.lower() else shape[2])
                values.append(rng.normal(0, np.sqrt(2 / fan_in), shape))
            elif kind in ("bias", "beta", "moving_mean"):
                values.append(rng.normal(0, 0.2, shape))
            elif kind == "gamma":
                values.append(rng.uniform(0.5, 1.5, shape))
            else:  # moving_variance
                values.append(rng.uniform(0.3, 2.0, shape))
        if values:
            layer.set_weights([a.astype(np.float32) for a in values])
    return model


def _keras2_config(model: keras.Model, size: int) -> dict:
    """What Keras 2's ``model.get_config()`` says about the layers the import looks at."""
    layers = []
    for layer in model.layers:
        cls, cfg = type(layer).__name__, {"name": layer.name}
        if cls == "InputLayer":
            cfg["batch_input_shape"] = [None, size, size, layer.output.shape[-1]]
        elif layer.name.startswith("up_sampling2d"):
            cls, cfg = "UpSampling2D", {**cfg, "size": [2, 2], "interpolation": "bilinear"}
        elif cls == "BatchNormalization":
            cfg.update(epsilon=float(layer.epsilon), momentum=0.8, center=True, scale=True)
        layers.append({"name": layer.name, "class_name": cls, "config": cfg})
    return {"class_name": "Model", "config": {"name": model.name, "layers": layers}}


def _write_layer(group, layer_name: str, weights: list[tuple[str, np.ndarray]]) -> None:
    g = group.create_group(layer_name)
    names = [n.encode() for n, _ in weights]
    g.attrs["weight_names"] = np.array(names) if names else np.array([], dtype="S1")
    for name, value in weights:
        g.create_dataset(name, data=value)


def _keras2_weights(layer, scope_suffix: str = "") -> list[tuple[str, np.ndarray]]:
    """A layer's weights as Keras 2 names them (``<layer>/<var>:0``), trainable first.
    ``scope_suffix`` mimics TF 1's numbering of a scope used twice in one session."""
    return [(f"{layer.name}{scope_suffix}/{v.path.split('/')[-1]}:0", np.asarray(v.numpy()))
            for v in layer.trainable_weights + layer.non_trainable_weights]


def write_weights_only(path, model: keras.Model, *, drop: tuple[str, ...] = (),
                       change: dict | None = None, scope_suffix: str = "") -> None:
    """``model.save_weights(path)`` of Keras 2: the layer groups at the file's root."""
    change = change or {}
    with h5py.File(path, "w") as f:
        names = [layer.name for layer in model.layers if layer.name not in drop]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", KERAS2_VERSION
        for layer in model.layers:
            if layer.name not in drop:
                _write_layer(f, layer.name, [(n, change.get(n, v)) for n, v in
                                             _keras2_weights(layer, scope_suffix)])


def _discriminator_weights(df: int = GF) -> dict[str, list[tuple[str, np.ndarray]]]:
    rng = np.random.default_rng(5)
    layers, c = {}, 3
    for i, width in enumerate((df, 2 * df, 4 * df, 8 * df), start=1):
        layers[f"conv2d_{i}"] = [("kernel", (3, 3, c, width)), ("bias", (width,))]
        if i > 1:
            layers[f"batch_normalization_{i - 1}"] = [(v, (width,)) for v in
                                                      ("gamma", "beta", "moving_mean",
                                                       "moving_variance")]
        c = width
    layers["dense_1"] = [("kernel", (4 * 4 * c, 1)), ("bias", (1,))]
    return {name: [(f"{name}/{v}:0", rng.normal(size=s).astype(np.float32)) for v, s in vars_]
            for name, vars_ in layers.items()}


def write_whole_model(path, model: keras.Model, size: int, *, gan: bool = False) -> None:
    """``model.save(path)`` of Keras 2: config attributes and ``model_weights``; with ``gan`` the
    combined model (inputs, the generator nested as ``model_2``, the critic as ``model_1``)."""
    import json

    generator_config = _keras2_config(model, size)
    with h5py.File(path, "w") as f:
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", KERAS2_VERSION
        f.attrs["training_config"] = json.dumps({"loss": "wasserstein_loss"}).encode()
        weights = f.create_group("model_weights")
        weights.attrs["backend"], weights.attrs["keras_version"] = b"tensorflow", KERAS2_VERSION
        if not gan:
            f.attrs["model_config"] = json.dumps(generator_config).encode()
            weights.attrs["layer_names"] = np.array([layer.name.encode() for layer in model.layers])
            for layer in model.layers:
                _write_layer(weights, layer.name, _keras2_weights(layer))
            return
        critic = _discriminator_weights()
        config = {"class_name": "Model", "config": {"name": "model_3", "layers": [
            {"name": "input_3", "class_name": "InputLayer",
             "config": {"batch_input_shape": [None, size, size, 3]}},
            {"name": "input_4", "class_name": "InputLayer",
             "config": {"batch_input_shape": [None, size, size, 1]}},
            {"name": "model_2", "class_name": "Model", "config": generator_config["config"]},
            {"name": "lambda_9", "class_name": "Lambda", "config": {}},
            {"name": "model_1", "class_name": "Model", "config": {"name": "model_1", "layers": [
                {"name": n, "class_name": "Conv2D" if n.startswith("conv") else "Dense",
                 "config": {}} for n in critic]}}]}}
        f.attrs["model_config"] = json.dumps(config).encode()
        weights.attrs["layer_names"] = np.array([b"input_3", b"input_4", b"model_2", b"lambda_9",
                                                 b"model_1"])
        for name in ("input_3", "input_4", "lambda_9"):
            _write_layer(weights, name, [])
        _write_layer(weights, "model_2",
                     [w for layer in model.layers for w in _keras2_weights(layer)])
        _write_layer(weights, "model_1", [w for vars_ in critic.values() for w in vars_])


@pytest.fixture(scope="module")
def reference() -> keras.Model:
    return randomise(reference_generator(GF))


def _inputs(n: int, h: int, w: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """NHWC image in [-1, 1] and hole mask in {0, 1} (the export's deterministic test inputs)."""
    from rmnet_sdk.export.onnx import parity_inputs

    image, mask = parity_inputs(n, h, w, seed=seed)
    return image.transpose(0, 2, 3, 1).copy(), mask.transpose(0, 2, 3, 1).copy()


def _check_same_function(ours: keras.Model, reference: keras.Model, *, bgr: bool,
                         shape: tuple[int, int, int] = (2, 64, 96)) -> float:
    """max |ours - reference| on the raw prediction, feeding the reference BGR when it was
    trained so; the composited output (the reference's own) must agree as well."""
    from rmnet_sdk.training.model import composite

    image, mask = _inputs(*shape)
    flip = (lambda a: a[..., ::-1]) if bgr else (lambda a: a)
    combined, raw = reference.predict([flip(image), mask], verbose=0)
    pred = ours.predict([image, mask], verbose=0)
    assert combined.shape == (*image.shape[:3], 4)
    diff = float(np.abs(pred - flip(raw)).max())
    filled = np.asarray(composite(image, pred, mask))
    assert np.abs(filled - flip(combined[..., :3])).max() <= EXACT
    return diff


# -- imports that must reproduce the reference -------------------------------------------------

def test_weights_only_file_imports_exactly(reference: keras.Model, tmp_path) -> None:
    from keras.src.legacy.saving import legacy_h5_format

    from rmnet_sdk.training.checkpoint import file_sha256, load_generator, read_keras_metadata
    from rmnet_sdk.training.reference import import_reference_checkpoint

    h5 = tmp_path / "weight_100.h5"
    write_weights_only(h5, reference)
    # the synthetic file is what Keras's own Keras 2 HDF5 reader expects
    fresh = reference_generator(GF)
    with h5py.File(h5, "r") as f:
        legacy_h5_format.load_weights_from_hdf5_group(f, fresh)
    for a, b in zip(fresh.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    report = import_reference_checkpoint(h5, tmp_path / "ref.keras")
    assert (report.layout, report.nested_in, report.gf, report.channels) == \
        ("weights-only", "", GF, "bgr")
    assert report.batchnorm_layers == tuple(GENERATOR_BN_NAMES)
    assert report.resolution == 256 and "config.ini" in report.resolution_from
    ours = load_generator(report.output)
    assert _check_same_function(ours, reference, bgr=True) <= EXACT
    meta = read_keras_metadata(report.output)
    assert meta == report.metadata
    assert meta.origin.startswith("reference R-MNet (Jam et al.)") and "BGR" in meta.origin
    assert (meta.origin_file, meta.origin_sha256) == ("weight_100.h5", file_sha256(h5))
    assert (meta.gf, meta.mask_channel, meta.upsampling, meta.resolution) == \
        (GF, False, "asymmetric", 256)
    assert (meta.normalization, meta.mask_polarity) == ("x/127.5-1", "1=hole")


def test_fine_tuning_an_import_with_other_upsampling_is_refused(reference, tmp_path) -> None:
    from rmnet_sdk.errors import ModelError
    from rmnet_sdk.training.reference import import_reference_checkpoint
    from rmnet_sdk.training.warmstart import load_initial_weights

    h5 = tmp_path / "weight_1.h5"
    write_weights_only(h5, reference)
    imported = import_reference_checkpoint(h5, tmp_path / "ref.keras").output
    with pytest.raises(ModelError, match="upsamples with 'asymmetric'"):
        load_initial_weights(build_generator(GF), imported)
    same = build_generator(GF, upsampling="asymmetric")
    assert load_initial_weights(same, imported).origin_file == "weight_1.h5"
    np.testing.assert_array_equal(same.get_layer("dec2_conv").get_weights()[0],
                                  keras.saving.load_model(imported).get_layer("dec2_conv")
                                  .get_weights()[0])


def test_whole_model_file_imports_exactly_with_rgb_channels(reference, tmp_path) -> None:
    from rmnet_sdk.training.reference import import_reference_checkpoint

    h5 = tmp_path / "generator.h5"
    write_whole_model(h5, reference, size=128)
    report = import_reference_checkpoint(h5, tmp_path / "ref.keras", channels="rgb")
    assert (report.layout, report.resolution) == ("whole-model", 128)
    assert report.keras_version == "2.3.1" and "RGB as trained" in report.metadata.origin
    ours = keras.saving.load_model(report.output, compile=False)
    assert _check_same_function(ours, reference, bgr=False, shape=(1, 48, 80)) <= EXACT


def test_combined_gan_file_imports_the_nested_generator(reference, tmp_path) -> None:
    from rmnet_sdk.training.reference import build_reference_generator, read_reference_checkpoint

    h5 = tmp_path / "combined.h5"
    write_whole_model(h5, reference, size=256, gan=True)
    ckpt = read_reference_checkpoint(h5)
    assert (ckpt.layout, ckpt.nested_in, ckpt.gf, ckpt.resolution) == \
        ("whole-model", "model_2", GF, 256)
    # the critic's BatchNorms (batch_normalization_1..3) are not the generator's
    assert [n for n, _ in ckpt.batchnorms] == GENERATOR_BN_NAMES
    ours = build_reference_generator(ckpt)
    assert _check_same_function(ours, reference, bgr=True) <= EXACT


def test_numbered_variable_scopes_are_the_same_layers(reference, tmp_path) -> None:
    """A generator built twice in one TF 1 session saves ``enc_conv_1_1/kernel:0`` etc."""
    from rmnet_sdk.training.reference import build_reference_generator, read_reference_checkpoint

    h5 = tmp_path / "second_build.h5"
    write_weights_only(h5, reference, scope_suffix="_1")
    ckpt = read_reference_checkpoint(h5)
    assert ckpt.nested_in == "" and [n for n, _ in ckpt.batchnorms] == GENERATOR_BN_NAMES
    assert _check_same_function(build_reference_generator(ckpt), reference, bgr=True) <= EXACT


def test_batchnorm_epsilon_from_the_config_is_honoured(tmp_path) -> None:
    """A whole-model file says its BatchNorm epsilon; a different one is folded in exactly."""
    from rmnet_sdk.training.reference import build_reference_generator, read_reference_checkpoint

    model = reference_generator(GF)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.epsilon = 0.01
    randomise(model, seed=3)
    h5 = tmp_path / "eps.h5"
    write_whole_model(h5, model, size=256)
    ckpt = read_reference_checkpoint(h5)
    assert ckpt.bn_epsilons == (0.01,) * 8
    assert _check_same_function(build_reference_generator(ckpt), model, bgr=True) <= EXACT


# -- refusals ------------------------------------------------------------------------------------

def test_refuses_what_is_not_a_reference_generator(reference, tmp_path) -> None:
    from rmnet_sdk.errors import InvalidInputError, ModelError, ModelNotFoundError
    from rmnet_sdk.training.reference import import_reference_checkpoint, read_reference_checkpoint

    with pytest.raises(ModelNotFoundError):
        read_reference_checkpoint(tmp_path / "missing.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not a checkpoint")
    with pytest.raises(ModelError, match="not an HDF5 file"):
        read_reference_checkpoint(text)
    # Keras 3's own weights file is HDF5, but not the Keras 2 layout
    keras3 = tmp_path / "ours.weights.h5"
    build_generator(GF).save_weights(keras3)
    with pytest.raises(ModelError, match="not in the Keras 2 weights layout"):
        read_reference_checkpoint(keras3)
    # another network in the Keras 2 layout (the critic alone): named, with what was found
    critic = tmp_path / "critic.h5"
    with h5py.File(critic, "w") as f:
        layers = _discriminator_weights()
        f.attrs["layer_names"] = np.array([n.encode() for n in layers])
        for name, weights in layers.items():
            _write_layer(f, name, weights)
    with pytest.raises(ModelError, match=r"not an R-MNet generator.*conv2d_1 \(kernel \(3, 3, 3, 8\)"):
        read_reference_checkpoint(critic)

    out = tmp_path / "never.keras"
    for bad, message in [
        (dict(drop=("upsample_conv_3",)), r"layers \['upsample_conv_3'\] are missing"),
        (dict(change={"upsample_conv_2/kernel:0": np.zeros((3, 3, 32, 32), np.float32)}),
         r"upsample_conv_2/kernel \(3, 3, 32, 32\) != \(3, 3, 32, 64\)"),
        (dict(change={"enc_conv_1/kernel:0": np.zeros((5, 5, 4, GF), np.float32)}),
         "mask-channel variant"),
        (dict(drop=("batch_normalization_7",)), r"BatchNorm widths in file order"),
        (dict(change={"enc_conv_2/bias:0": np.full(GF, np.nan, np.float32)}), "non-finite"),
    ]:
        h5 = tmp_path / "bad.h5"
        write_weights_only(h5, reference, **bad)
        with pytest.raises(ModelError, match=message):
            import_reference_checkpoint(h5, out)
        assert not out.exists()

    good = tmp_path / "good.h5"
    write_weights_only(good, reference)
    before = good.read_bytes()
    with pytest.raises(InvalidInputError, match=r"\.keras"):
        import_reference_checkpoint(good, tmp_path / "x.onnx")
    out.write_bytes(b"keep me")
    with pytest.raises(InvalidInputError, match="exists"):
        import_reference_checkpoint(good, out)
    with pytest.raises(InvalidInputError, match="channels"):
        import_reference_checkpoint(good, tmp_path / "y.keras", channels="yuv")
    assert out.read_bytes() == b"keep me" and good.read_bytes() == before


def test_cli(reference, tmp_path, capsys: pytest.CaptureFixture) -> None:
    import json

    from rmnet_sdk.training.reference import main

    h5, out = tmp_path / "weight_7.h5", tmp_path / "m.keras"
    write_weights_only(h5, reference)
    assert main([str(h5), "-o", str(out), "--resolution", "512", "--name", "celeba"]) == 0
    text = capsys.readouterr().out
    assert "weights-only" in text and "gf=8" in text and "reference R-MNet (Jam et al.)" in text
    assert main([str(h5), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main([str(h5), "-o", str(out), "--force", "--json", "--channels", "rgb"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metadata"]["origin_file"] == "weight_7.h5" and report["channels"] == "rgb"
    assert main([str(tmp_path / "missing.h5"), "-o", str(tmp_path / "n.keras")]) == 2
    assert "not found" in capsys.readouterr().err


# -- the whole chain: .h5 -> .keras -> ONNX -> fp16 -> TensorRT-RTX engine -> Inpainter -------------

def test_reference_checkpoint_through_the_whole_pipeline(reference, tmp_path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """An imported checkpoint exports like one of ours: ONNX parity (and parity with the
    reference itself), the fp16 gates, an ahead-of-time TensorRT-RTX engine, and the SDK."""
    pytest.importorskip("tf2onnx")
    from rmnet_sdk import Inpainter
    from rmnet_sdk.export import (
        EngineRequest,
        build_engine,
        check_engine,
        convert_fp16,
        export_onnx,
        read_onnx_metadata,
    )
    from rmnet_sdk.training.checkpoint import file_sha256
    from rmnet_sdk.training.reference import import_reference_checkpoint

    h5 = tmp_path / "weight_100.h5"
    write_weights_only(h5, reference)
    keras_path = import_reference_checkpoint(h5, tmp_path / "ref.keras", resolution=64).output
    onnx_path = tmp_path / "ref.onnx"
    report = export_onnx(keras_path, onnx_path, parity_sizes=[(1, 64, 64), (2, 48, 80)])
    assert max(report.parity.values()) <= 1e-4, report.parity
    assert report.node_counts.get("AveragePool") == 4  # the TF 1 upsampling, one per stage
    meta = read_onnx_metadata(onnx_path)
    assert meta.origin.startswith("reference R-MNet (Jam et al.)")
    assert (meta.origin_file, meta.origin_sha256) == ("weight_100.h5", file_sha256(h5))
    assert meta.source_sha256 == file_sha256(keras_path) and meta.resolution == 64

    # ONNX Runtime (NCHW) against the Keras 3 re-implementation of the reference itself
    import onnxruntime as ort

    image, mask = _inputs(2, 64, 96, seed=4)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (pred,) = session.run(None, {"image": image.transpose(0, 3, 1, 2),
                                 "mask": mask.transpose(0, 3, 1, 2)})
    _, raw = reference.predict([image[..., ::-1], mask], verbose=0)
    assert np.abs(pred.transpose(0, 2, 3, 1) - raw[..., ::-1]).max() <= 1e-4

    # the SDK on ONNX Runtime: known pixels untouched, holes from the reference's weights
    inp = Inpainter(onnx_path, backend="onnxruntime", strategy="original")
    assert inp.backend.describe()["metadata"]["origin_file"] == "weight_100.h5"
    rgb = np.random.default_rng(2).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    hole = mask[0, ..., 0] > 0
    out = inp.run(rgb, hole)
    np.testing.assert_array_equal(out[~hole], rgb[~hole])
    x = (rgb[None].astype(np.float32) / 127.5 - 1.0)[..., ::-1]  # what the reference sees: BGR
    combined, _ = reference.predict([x, hole[None, ..., None].astype(np.float32)], verbose=0)
    expected = np.clip(np.round((combined[0, ..., 2::-1] + 1.0) * 127.5), 0, 255)
    assert np.abs(out[hole].astype(int) - expected[hole]).max() <= 1
    try:
        from rmnet_sdk import _native
    except ImportError:  # CI builds it
        _native = None
    if _native is not None and _native.WITH_OPENCV:  # the C++ runtime (OpenCV DNN) agrees
        native = Inpainter(onnx_path, backend="native", strategy="original").run(rgb, hole)
        assert np.abs(native.astype(int) - out.astype(int)).max() <= 1
    # `rmnet info` says where the weights come from
    import json

    from rmnet_sdk.cli import main as rmnet_main

    capsys.readouterr()
    assert rmnet_main(["info", "--model", str(onnx_path), "--backend", "onnxruntime",
                       "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["model"]["metadata"]
    assert info["origin"] == meta.origin and info["origin_sha256"] == file_sha256(h5)

    from rmnet_sdk.export.fp16 import DEFAULT_MIN_PSNR

    fp16_path = tmp_path / "ref_fp16.onnx"
    _, fp16 = convert_fp16(onnx_path, fp16_path, photos_dir="synthetic", n_photos=4)
    assert fp16.nonfinite == 0 and fp16.psnr_min >= DEFAULT_MIN_PSNR
    assert read_onnx_metadata(fp16_path) == meta

    from conftest import require_rtx

    require_rtx()
    engine = tmp_path / "ref.engine"
    sidecar = build_engine(fp16_path, engine, EngineRequest(
        profiles=("1x64x64:1x256x256:2x512x512",), targets=("sm86", "sm120"),
        flavour="tensorrt-rtx", optimization_level=1))
    assert sidecar == check_engine(engine)
    assert sidecar["precision"] == "fp16" and sidecar["compute_capability"] == ["8.6", "12.0"]
    assert sidecar["metadata"]["origin_sha256"] == file_sha256(h5)
    assert engine.stat().st_size == sidecar["engine_bytes"] > 0
