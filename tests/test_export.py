"""Export of a trained (tiny) generator: Keras -> ONNX fp32 -> fp16 -> TensorRT-RTX engine + CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from rmnet_sdk.errors import ExportError, InvalidInputError, ParityError  # noqa: E402
from rmnet_sdk.export import (  # noqa: E402
    EngineRequest,
    build_engine,
    check_engine,
    check_parity,
    convert_fp16,
    export_onnx,
    keras_to_onnx,
    read_onnx_metadata,
    sidecar_path,
)
from rmnet_sdk.export.cli import main as cli_main  # noqa: E402
from rmnet_sdk.export.onnx import SHAPE_SPECIFIC_OPS, node_counts  # noqa: E402
from rmnet_sdk.metadata import ModelMetadata  # noqa: E402

TOL = 1e-4
RTX_AOT = ("sm86", "sm89", "sm120")


@pytest.fixture(scope="module")
def trained_keras(tiny_image_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny preset (gf=8) trained for 5 steps: BN statistics and weights moved from init."""
    from rmnet_sdk.training import preset
    from rmnet_sdk.training.train import Trainer

    run = tmp_path_factory.mktemp("export_run")
    cfg = preset("tiny", data_dir=str(tiny_image_dir), steps=5, checkpoint_every=1000,
                 sample_every=1000, val_every=1000, num_val_images=2, perceptual_weight=0.0,
                 adv_weight=0.0, l1_hole_weight=6.0, l1_valid_weight=1.0)
    Trainer(cfg, run, resume=False).fit(progress=False)
    return run / "generator.keras"


@pytest.fixture(scope="module")
def keras_model(trained_keras: Path):
    from rmnet_sdk.training.checkpoint import load_generator

    return load_generator(trained_keras)


@pytest.fixture(scope="module")
def exported(trained_keras: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("export") / "rmnet.onnx"
    return export_onnx(trained_keras, out, version="1.2")


@pytest.fixture(scope="module")
def fp16_export(exported, photos_dir: Path):
    out = exported.path.with_name("rmnet_fp16.onnx")
    _, report = convert_fp16(exported.path, out, photos_dir=photos_dir, n_photos=20,
                             resolution=256)
    return report


def test_export_of_trained_model_passes_both_parity_gates(exported, trained_keras: Path) -> None:
    assert set(exported.parity) == {"1x256x256", "2x384x512"}
    assert max(exported.parity.values()) <= TOL, exported.parity
    model = onnx.load(exported.path)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17
    io = {vi.name: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
          for vi in [*model.graph.input, *model.graph.output]}
    assert io == {"image": ["N", 3, "H", "W"], "mask": ["N", 1, "H", "W"],
                  "prediction": ["N", 3, "H", "W"]}
    assert not SHAPE_SPECIFIC_OPS & set(node_counts(model))
    assert "ConvTranspose" not in node_counts(model)
    # the trained model's metadata travels into the ONNX, with the checkpoint's sha256
    from rmnet_sdk.training.checkpoint import file_sha256, read_keras_metadata

    meta = read_onnx_metadata(exported.path)
    keras_meta = read_keras_metadata(trained_keras)
    assert meta == keras_meta.replace(source_sha256=file_sha256(trained_keras), version="1.2")
    assert (meta.gf, meta.resolution, meta.training_steps) == (8, 64, 5)
    assert meta.config_hash and meta.mask_polarity == "1=hole"


def test_dynamic_sizes_in_onnx_runtime_match_keras(exported, keras_model) -> None:
    diffs = check_parity(keras_model, exported.path,
                         sizes=[(1, 256, 256), (1, 384, 512), (1, 512, 384), (3, 256, 256),
                                (2, 64, 112)], seed=7)
    assert max(diffs.values()) <= TOL, diffs


def test_parity_gate_fires_and_rejects_bad_sizes(exported, keras_model, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="multiples of 16"):
        check_parity(keras_model, exported.path, sizes=[(1, 250, 256)])
    with pytest.raises(InvalidInputError, match="multiples of 16"):
        export_onnx(keras_model, tmp_path / "x.onnx", parity_sizes=[(1, 100, 100)])
    with pytest.raises(ParityError, match="disagrees with Keras"):
        check_parity(keras_model, exported.path, sizes=[(1, 64, 64)], tolerance=0.0)
    # a different model with the same architecture: the gate catches it
    from rmnet_sdk.training.model import build_generator

    other = build_generator(8)
    with pytest.raises(ParityError):
        check_parity(other, exported.path, sizes=[(1, 64, 64)])


def test_export_never_overwrites_its_input(trained_keras: Path) -> None:
    before = trained_keras.read_bytes()
    with pytest.raises(InvalidInputError, match="overwrite the input"):
        export_onnx(trained_keras, trained_keras)
    assert trained_keras.read_bytes() == before


def _convt_model():
    from keras import layers

    img = keras.Input((None, None, 3), name="img")
    hole = keras.Input((None, None, 1), name="hole")
    valid = layers.Rescaling(-1.0, offset=1.0)(hole)
    x = layers.Multiply()([img, valid])
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.Conv2DTranspose(6, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    out = layers.Conv2DTranspose(3, 5, padding="same", activation="tanh", name="out")(x)
    keras.utils.set_random_seed(3)
    return keras.Model([hole, img], out)  # inputs deliberately in the "wrong" order and named


def test_conv_transpose_model_is_rewritten_exactly(tmp_path: Path) -> None:
    import onnxruntime as ort

    from rmnet_sdk.export.onnx import parity_inputs

    model = _convt_model()
    kept, n0 = keras_to_onnx(model, rewrite=False)
    rewritten, n1 = keras_to_onnx(model)
    assert n0 == 0 and node_counts(kept)["ConvTranspose"] == 2
    assert n1 == 2 and "ConvTranspose" not in node_counts(rewritten)
    assert [i.name for i in rewritten.graph.input] == ["mask", "image"]
    image, mask = parity_inputs(2, 48, 80)
    run = lambda m: ort.InferenceSession(m.SerializeToString(),  # noqa: E731
                                         providers=["CPUExecutionProvider"]).run(
        None, {"image": image, "mask": mask})[0]
    assert np.abs(run(kept) - run(rewritten)).max() < 1e-6
    report = export_onnx(model, tmp_path / "ct.onnx",
                         metadata=ModelMetadata(name="convt", version="7"))
    assert report.conv_transpose_rewritten == 2 and max(report.parity.values()) <= TOL
    assert read_onnx_metadata(tmp_path / "ct.onnx").name == "convt"


def test_shape_reading_layer_fails_the_export(tmp_path: Path) -> None:
    from keras import layers

    img = keras.Input((None, None, 3), name="image")
    hole = keras.Input((None, None, 1), name="mask")
    x = layers.Multiply()([img, layers.Rescaling(-1.0, offset=1.0)(hole)])
    x = layers.Conv2D(4, 3, padding="same")(x)
    x = layers.Reshape((256, 256, 4))(x)  # bakes the traced size into the graph
    out = layers.Conv2D(3, 3, padding="same", activation="tanh")(x)
    with pytest.raises(ExportError, match="tied to the traced size.*Reshape"):
        export_onnx(keras.Model([img, hole], out), tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


def test_fp16_gate_on_photos(fp16_export, exported) -> None:
    r = fp16_export
    assert r.n_images == 20 and r.corpus.endswith("photos") and r.resolution == 256
    assert r.nonfinite == 0 and r.psnr_min >= 45.0, r.to_dict()
    assert 0 < r.max_activation < r.activation_limit == 60000.0
    assert r.activations[0]["max_abs"] == r.max_activation
    assert {a["op"] for a in r.activations} >= {"Conv", "MaxPool", "Resize", "Tanh"}
    assert r.cast_nodes == 3
    half = onnx.load(r.path)
    assert read_onnx_metadata(half) == read_onnx_metadata(exported.path)


def test_rtx_ahead_of_time_fp16_engine(fp16_export, tmp_path: Path) -> None:
    """CI: build a fp16 engine for sm86/sm89/sm120 without a GPU and check IO/profiles."""
    from conftest import require_rtx

    require_rtx()
    engine = tmp_path / "rmnet.engine"
    req = EngineRequest(profiles=("1x256x256:1x256x256:4x1024x1024",
                                  "1x64x64:2x128x128:2x256x256"),
                        targets=RTX_AOT, flavour="tensorrt-rtx")
    sidecar = build_engine(fp16_export.path, engine, req)
    assert engine.stat().st_size == sidecar["engine_bytes"] > 0
    assert json.loads(sidecar_path(engine).read_text()) == sidecar == check_engine(engine)
    for key in ("onnx_sha256", "trt_version", "compute_capability", "precision", "profiles"):
        assert key in sidecar
    assert sidecar["flavour"] == "tensorrt-rtx" and sidecar["precision"] == "fp16"
    assert sidecar["compute_capability"] == ["8.6", "8.9", "12.0"]
    assert sidecar["onnx_sha256"] == fp16_export.onnx_sha256
    v = sidecar["verification"]
    assert v["io"] == {"image": {"mode": "input", "shape": [-1, 3, -1, -1], "dtype": "FLOAT"},
                       "mask": {"mode": "input", "shape": [-1, 1, -1, -1], "dtype": "FLOAT"},
                       "prediction": {"mode": "output", "shape": [-1, 3, -1, -1],
                                      "dtype": "FLOAT"}}
    assert v["config"]["compute_capabilities"] == list(RTX_AOT)
    assert v["config"]["num_optimization_profiles"] == 2
    assert v["config"]["profiles"][0]["image"] == {"min": [1, 3, 256, 256], "opt": [1, 3, 256, 256],
                                                   "max": [4, 3, 1024, 1024]}
    assert v["config"]["profiles"][1]["mask"]["opt"] == [2, 1, 128, 128]
    dtypes = v["precision_check"]["dtypes"]
    assert dtypes["HALF"] > 10 * dtypes.get("FLOAT", 0)  # only the output cast is fp32
    assert sidecar["metadata"]["gf"] == 8


def test_cli_end_to_end(trained_keras: Path, photos_dir: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cli"
    onnx_path, fp16_path, report = out / "m.onnx", out / "m16.onnx", out / "report.json"
    argv = [str(trained_keras), "--onnx", str(onnx_path), "--fp16", str(fp16_path),
            "--photos", str(photos_dir), "--num-photos", "4", "--gate-size", "128",
            "--name", "cli-model", "--report", str(report), "-q"]
    try:
        import tensorrt_rtx  # noqa: F401

        engine = out / "m.engine"
        argv += ["--engine", str(engine), "--profile", "1x256x256:1x256x256:4x1024x1024",
                 "--target", "sm86,sm89", "--opt-level", "1"]
    except ImportError:
        engine = None
    assert cli_main(argv) == 0, capsys.readouterr().err
    data = json.loads(report.read_text())
    assert max(data["onnx"]["parity"].values()) <= TOL and data["fp16"]["psnr_min"] >= 45
    assert read_onnx_metadata(onnx_path).name == "cli-model"
    if engine is not None:
        assert check_engine(engine)["onnx_sha256"] == data["fp16"]["onnx_sha256"]
    # outputs exist now: refused without --force, nothing touched
    stamp = onnx_path.stat().st_mtime_ns
    assert cli_main([str(trained_keras), "--onnx", str(onnx_path), "-q"]) == 2
    assert "--force" in capsys.readouterr().err and onnx_path.stat().st_mtime_ns == stamp
    # never the input, bad sizes and bad targets are usage errors before any work
    assert cli_main([str(trained_keras), "--onnx", str(trained_keras), "--force"]) == 2
    assert cli_main([str(onnx_path), "--fp16", str(out / "x.onnx"), "--gate-size", "100"]) == 2
    assert cli_main([str(onnx_path), "--onnx", str(out / "y.onnx")]) == 2
    assert cli_main([str(out / "missing.keras"), "--onnx", str(out / "z.onnx")]) == 2
    assert cli_main([str(fp16_path), "--engine", str(out / "e.engine"),
                     "--profile", "1x250x256:1x256x256:1x256x256"]) == 2
    err = capsys.readouterr().err
    assert "multiples of 16" in err and "not found" in err
    assert not (out / "x.onnx").exists() and not (out / "e.engine").exists()


def test_cli_help_explains_options(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        cli_main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--onnx", "--fp16", "--engine", "--profile", "--target", "--photos",
                "--min-psnr", "--activation-limit", "--timing-cache", "--force", "exit status"):
        assert opt in text
