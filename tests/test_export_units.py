"""rmnet_sdk.export without TensorFlow: graph checks and rewrites, fp16 gate, TensorRT builder logic
(fake TensorRT modules for 10.x / 11.x / RTX), sidecars and the engine cache; TensorRT-RTX
ahead-of-time builds where it is installed; a full-TensorRT build + run on a GPU (``gpu``)."""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from rmnet_sdk.errors import (
    BackendUnavailableError,
    EngineCacheError,
    EngineMismatchError,
    ExportError,
    InvalidInputError,
    ModelError,
    ModelNotFoundError,
    ParityError,
)
from rmnet_sdk.export import (
    EngineCache,
    EngineRequest,
    GpuInfo,
    Profile,
    assert_shape_agnostic,
    build_engine,
    cache_key,
    check_engine,
    check_spatial_size,
    convert_fp16,
    default_cache_dir,
    detect_environment,
    load_onnx,
    read_onnx_metadata,
    read_sidecar,
    relax_dims,
    rewrite_conv_transpose,
    sidecar_path,
    write_onnx_metadata,
)
from rmnet_sdk.export.cache import file_lock
from rmnet_sdk.export.onnx import onnx_precision, shape_specific_problems
from rmnet_sdk.export.tensorrt import (
    cache_key_parts,
    inspector_precision,
    normalize_target,
    read_onnx_source,
    resolve_targets,
    target_to_cc,
)
from rmnet_sdk.metadata import ModelMetadata

RTX_AOT = ("sm86", "sm89", "sm120")


# -- a tiny R-MNet-shaped ONNX model, built with onnx.helper (no TensorFlow) ----------------------

def mini_generator(seed: int = 0, *, scale: float = 1.0, dynamic: bool = True,
                   conv_transpose: bool = False) -> onnx.ModelProto:
    """image*(1-mask) -> Conv -> LeakyRelu -> MaxPool -> Resize x2 -> Conv(T) -> Tanh."""
    rng = np.random.default_rng(seed)
    f = np.float32
    inits = [
        numpy_helper.from_array(np.array(1.0, f), "one"),
        numpy_helper.from_array((rng.normal(0, 0.3, (8, 3, 3, 3)) * scale).astype(f), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(f), "b1"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], f), "scales"),
        numpy_helper.from_array(rng.normal(0, 0.2, (3, 8, 3, 3) if not conv_transpose
                                           else (8, 3, 3, 3)).astype(f), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.1, 3).astype(f), "b2"),
    ]
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["valid"], name="valid"),
        helper.make_node("Mul", ["image", "valid"], ["masked"], name="masked"),
        helper.make_node("Conv", ["masked", "w1", "b1"], ["c1"], name="enc_conv", pads=[1, 1, 1, 1]),
        helper.make_node("LeakyRelu", ["c1"], ["a1"], name="enc_lrelu", alpha=0.2),
        helper.make_node("MaxPool", ["a1"], ["p1"], name="enc_pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Resize", ["p1", "", "scales"], ["u1"], name="dec_up", mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("ConvTranspose" if conv_transpose else "Conv", ["u1", "w2", "b2"], ["c2"],
                         name="dec_conv", pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["c2"], ["prediction"], name="head"),
    ]
    n, h, w = ("N", "H", "W") if dynamic else (1, 64, 64)
    graph = helper.make_graph(
        nodes, "mini_rmnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [n, 3, h, w]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [n, 1, h, w])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [n, 3, h, w])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def ort_run(model: onnx.ModelProto | bytes | Path, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    src = model.SerializeToString() if isinstance(model, onnx.ModelProto) else (
        model if isinstance(model, bytes) else str(model))
    s = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    dt = np.float16 if s.get_inputs()[0].type == "tensor(float16)" else np.float32
    return s.run(None, {"image": image.astype(dt), "mask": mask.astype(dt)})[0].astype(np.float32)


def inputs(n: int, h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, 1, h, w), np.float32)
    mask[:, :, h // 4: h // 2, w // 3: 2 * w // 3] = 1
    return rng.uniform(-1, 1, (n, 3, h, w)).astype(np.float32), mask


@pytest.fixture(scope="module")
def mini_fp32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mini") / "mini.onnx"
    model = write_onnx_metadata(mini_generator(), ModelMetadata(name="mini", version="3",
                                                                resolution=64))
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def mini_fp16(mini_fp32: Path) -> Path:
    out = mini_fp32.with_name("mini_fp16.onnx")
    convert_fp16(mini_fp32, out, photos_dir="synthetic", n_photos=3, resolution=64)
    return out


# -- sizes, profiles, targets --------------------------------------------------------------------

@pytest.mark.parametrize("h, w", [(250, 256), (256, 8), (0, 16), (-16, 16), (16.5, 16)])
def test_non_multiple_of_16_rejected(h, w) -> None:
    with pytest.raises(InvalidInputError, match="multiples of 16"):
        check_spatial_size(h, w)


def test_valid_sizes_accepted() -> None:
    assert check_spatial_size(384, 512) == (384, 512)
    assert check_spatial_size(16, 1024) == (16, 1024)


def test_profile_parsing_and_validation() -> None:
    p = Profile.parse("1x256x256:2x384x512:4x1024x1024")
    assert p.min == (1, 256, 256) and p.opt == (2, 384, 512) and p.max == (4, 1024, 1024)
    assert p.shapes(1)[2] == (4, 1, 1024, 1024)
    assert str(p) == "1x256x256:2x384x512:4x1024x1024"
    assert Profile.parse("2x128x128").min == Profile.parse("2x128x128").max == (2, 128, 128)
    assert Profile.from_dict(p.to_dict()) == p
    with pytest.raises(InvalidInputError, match="multiples of 16"):
        Profile.parse("1x250x256:1x256x256:1x256x256")
    with pytest.raises(InvalidInputError, match="min <= opt <= max"):
        Profile.parse("1x512x512:1x256x256:1x1024x1024")
    with pytest.raises(InvalidInputError, match="NxHxW"):
        Profile.parse("1x256:1x256x256:1x256x256")
    with pytest.raises(InvalidInputError):
        Profile.parse("0x256x256")


def test_targets_normalised() -> None:
    assert [normalize_target(t) for t in ("sm86", "SM_89", "120", "8.6", "12.1")] == \
        ["sm86", "sm89", "sm120", "sm86", "sm121"]
    assert target_to_cc("sm120") == "12.0" and target_to_cc("sm75") == "7.5"
    with pytest.raises(InvalidInputError):
        normalize_target("ampere")
    with pytest.raises(InvalidInputError, match="precision"):
        EngineRequest(precision="int8")
    with pytest.raises(InvalidInputError, match="optimization_level"):
        EngineRequest(optimization_level=7)


# -- graph checks and rewrites -------------------------------------------------------------------

def test_shape_specific_assertion_fires_on_reshape() -> None:
    model = mini_generator()
    shape = numpy_helper.from_array(np.array([0, 3, 64, 64], np.int64), "fixed_shape")
    model.graph.initializer.append(shape)
    head = model.graph.node[-1]
    head.output[0] = "pre"
    model.graph.node.append(helper.make_node("Reshape", ["pre", "fixed_shape"], ["prediction"],
                                             name="bake_256"))
    with pytest.raises(ExportError, match="Reshape node 'bake_256'"):
        assert_shape_agnostic(model)
    with pytest.raises(ExportError, match="tied to the traced size"):
        relax_dims(model)


def test_shape_specific_assertion_fires_on_resize_sizes_and_convtranspose_output_shape() -> None:
    model = mini_generator()
    sizes = numpy_helper.from_array(np.array([1, 8, 64, 64], np.int64), "sizes")
    model.graph.initializer.append(sizes)
    up = next(n for n in model.graph.node if n.op_type == "Resize")
    del up.input[:]
    up.input.extend(["p1", "", "", "sizes"])
    assert any("fixed 'sizes'" in p for p in shape_specific_problems(model))
    model2 = mini_generator(conv_transpose=True)
    ct = next(n for n in model2.graph.node if n.op_type == "ConvTranspose")
    ct.attribute.append(helper.make_attribute("output_shape", [64, 64]))
    assert any("output_shape" in p for p in shape_specific_problems(model2))
    assert shape_specific_problems(mini_generator()) == []


def test_relax_dims_makes_static_export_dynamic() -> None:
    model = mini_generator(dynamic=False)
    relax_dims(model)
    for vi in [*model.graph.input, *model.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        assert [dims[i].dim_param for i in (0, 2, 3)] == ["N", "H", "W"]
    image, mask = inputs(3, 48, 80)
    assert ort_run(model, image, mask).shape == (3, 3, 48, 80)


def _convt_model(w: np.ndarray, *, group: int, dilation: int, pads: list[int],
                 strides: int = 1) -> onnx.ModelProto:
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="ct", group=group,
                            dilations=[dilation] * 2, pads=pads, strides=[strides] * 2)
    c_in, c_out = w.shape[0], w.shape[1] * group
    graph = helper.make_graph(
        [node], "ct", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c_in, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", c_out, None, None])],
        [numpy_helper.from_array(w, "w"),
         numpy_helper.from_array(np.linspace(-1, 1, c_out).astype(np.float32), "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("group, dilation, pads", [(1, 1, [1, 1, 1, 1]), (2, 1, [0, 1, 2, 1]),
                                                   (1, 2, [2, 2, 2, 2]), (4, 2, [1, 3, 0, 4])])
def test_conv_transpose_rewrite_is_exact(group: int, dilation: int, pads: list[int]) -> None:
    import onnxruntime as ort

    rng = np.random.default_rng(group * 10 + dilation)
    w = rng.normal(0, 0.3, (8, 12 // group, 3, 3)).astype(np.float32)
    before = _convt_model(w, group=group, dilation=dilation, pads=pads)
    after = onnx.ModelProto()
    after.CopyFrom(before)
    assert rewrite_conv_transpose(after) == 1
    assert [n.op_type for n in after.graph.node] == ["Conv"]
    onnx.checker.check_model(after, full_check=True)
    x = rng.normal(0, 1, (2, 8, 16, 24)).astype(np.float32)
    run = lambda m: ort.InferenceSession(m.SerializeToString(),  # noqa: E731
                                         providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    a, b = run(before), run(after)
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)  # equal up to fp32 summation order


def test_conv_transpose_with_stride_is_left_alone() -> None:
    w = np.ones((4, 4, 3, 3), np.float32)
    model = _convt_model(w, group=1, dilation=1, pads=[1, 1, 1, 1], strides=2)
    assert rewrite_conv_transpose(model) == 0
    assert model.graph.node[0].op_type == "ConvTranspose"


# -- metadata and typed errors -------------------------------------------------------------------

def test_metadata_roundtrip_and_defaults(tmp_path: Path) -> None:
    meta = ModelMetadata(name="faces", version="2.1", resolution=512, config_hash="abc",
                         source_sha256="f" * 64, gf=32)
    model = write_onnx_metadata(mini_generator(), meta)
    model.metadata_props.add(key="other.tool", value="kept")
    write_onnx_metadata(model, meta.replace(version="2.2"))
    assert read_onnx_metadata(model) == meta.replace(version="2.2")
    assert {p.key for p in model.metadata_props} >= {"other.tool", "rmnet.name"}
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    assert read_onnx_metadata(path).resolution == 512
    bare = mini_generator()
    assert read_onnx_metadata(bare) == ModelMetadata()  # documented defaults
    assert ModelMetadata().mask_polarity == "1=hole" and ModelMetadata().resolution == 256


def test_corrupt_or_missing_onnx_gives_typed_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 100)
    for call in (lambda: load_onnx(bad), lambda: read_onnx_metadata(bad),
                 lambda: convert_fp16(bad, tmp_path / "o.onnx"),
                 lambda: build_engine(bad, tmp_path / "o.engine", env=fake_env())):
        with pytest.raises(ModelError):
            call()
    with pytest.raises(ModelNotFoundError):
        load_onnx(tmp_path / "missing.onnx")
    truncated = tmp_path / "trunc.onnx"
    truncated.write_bytes(mini_generator().SerializeToString()[:200])
    with pytest.raises(ModelError):
        load_onnx(truncated)
    other = tmp_path / "other.onnx"
    m = mini_generator()
    m.graph.output[0].name = "y"
    m.graph.node[-1].output[0] = "y"
    onnx.save(m, other)
    with pytest.raises(ModelError, match="not an R-MNet model"):
        build_engine(other, tmp_path / "o.engine", env=fake_env())


# -- fp16 ----------------------------------------------------------------------------------------

def test_fp16_graph_is_fully_fp16_with_io_casts_only(mini_fp32: Path, tmp_path: Path) -> None:
    half, report = convert_fp16(mini_fp32, tmp_path / "h.onnx", n_photos=2, resolution=64,
                                photos_dir="synthetic")
    assert onnx_precision(half) == "fp16"
    casts = [n for n in half.graph.node if n.op_type == "Cast"]
    assert len(casts) == report.cast_nodes == 3  # image, mask in; prediction out
    assert [i.type.tensor_type.elem_type for i in half.graph.input] == [TensorProto.FLOAT] * 2
    assert read_onnx_metadata(tmp_path / "h.onnx").name == "mini"
    assert report.corpus == "synthetic" and report.psnr_min > 45
    assert report.activations[0]["max_abs"] == report.max_activation > 0
    io16, _ = convert_fp16(mini_fp32, None, keep_io_types=False, n_photos=2, resolution=64,
                            photos_dir="synthetic")
    assert [i.type.tensor_type.elem_type for i in io16.graph.input] == [TensorProto.FLOAT16] * 2
    assert not any(n.op_type == "Cast" for n in io16.graph.node)


def test_fp16_activation_gate_catches_overflow(tmp_path: Path) -> None:
    src = tmp_path / "hot.onnx"
    onnx.save(mini_generator(scale=3e4), src)  # first conv outputs ~1e5: Inf in fp16
    with pytest.raises(ExportError, match=r"fp16 overflow risk.*enc_conv \(Conv\)"):
        convert_fp16(src, tmp_path / "hot16.onnx", n_photos=2, resolution=64)
    assert not (tmp_path / "hot16.onnx").exists()  # nothing written when a gate fails


def test_fp16_psnr_gate_fails_when_demanding_the_impossible(mini_fp32: Path, tmp_path: Path) -> None:
    with pytest.raises(ParityError, match="PSNR"):
        convert_fp16(mini_fp32, tmp_path / "x.onnx", n_photos=2, resolution=64, min_psnr=1000)


def test_fp16_refuses_to_overwrite_its_input(mini_fp32: Path) -> None:
    with pytest.raises(InvalidInputError, match="overwrite the input"):
        convert_fp16(mini_fp32, mini_fp32)


# -- a fake TensorRT module (10.x / 11.x / RTX) --------------------------------------------------

_DT = {TensorProto.FLOAT: "FLOAT", TensorProto.FLOAT16: "HALF"}


class FakeTrt:
    """Enough of the TensorRT Python API to drive rmnet_sdk.export.tensorrt, recording calls."""

    def __init__(self, version: str = "10.9.0.34", *, rtx: bool = False,
                 parse_ok: bool = True, build_ok: bool = True, progress: bool = True) -> None:
        self.__version__ = version
        self.__name__ = "tensorrt_rtx" if rtx else "tensorrt"
        self.calls: list[tuple] = []
        self.parsed: list[bytes] = []  # the ONNX bytes each parse() received
        self.runtimes = 0
        self.builds = 0
        self.build_delay = 0.0
        major = int(version.split(".")[0])
        fake = self

        class Flags(enum.IntEnum):  # kSTRONGLY_TYPED: 1 on 10.x (kEXPLICIT_BATCH was 0), 0 on 11/RTX
            STRONGLY_TYPED = 1 if (major == 10 and not rtx) else 0

        self.NetworkDefinitionCreationFlag = Flags
        builder_flags = ["DEBUG", "REFIT", "TF32"] + (["FP16"] if major == 10 and not rtx else [])
        self.BuilderFlag = enum.IntEnum("BuilderFlag", builder_flags)
        self.ProfilingVerbosity = enum.IntEnum("ProfilingVerbosity", "LAYER_NAMES_ONLY DETAILED NONE")
        self.MemoryPoolType = enum.IntEnum("MemoryPoolType", "WORKSPACE TACTIC_DRAM")
        # SAME_COMPUTE_CAPABILITY arrived in TensorRT 10.9 (JetPack 6's 10.3 lacks it)
        minor = int(version.split(".")[1])
        levels = "NONE AMPERE_PLUS" + (" SAME_COMPUTE_CAPABILITY" if (major, minor) >= (10, 9) else "")
        self.HardwareCompatibilityLevel = enum.IntEnum("HardwareCompatibilityLevel", levels)
        self.DataType = enum.IntEnum("DataType", "FLOAT HALF INT32")
        self.LayerType = enum.IntEnum("LayerType", "CONVOLUTION DECONVOLUTION ACTIVATION "
                                      "ELEMENTWISE CAST CONSTANT POOLING RESIZE UNARY")
        self.TensorIOMode = enum.IntEnum("TensorIOMode", "NONE INPUT OUTPUT")
        self.LayerInformationFormat = enum.IntEnum("LayerInformationFormat", "ONELINE JSON")
        if rtx:
            self.ComputeCapability = enum.IntEnum(
                "ComputeCapability", {"NONE": 0, "CURRENT": 1, "SM75": 75, "SM80": 80,
                                      "SM86": 86, "SM89": 89, "SM120": 120, "SM121": 121})

        class ILogger:
            def __init__(self) -> None:
                pass

        self.ILogger = ILogger
        if progress:
            class IProgressMonitor:
                def __init__(self) -> None:
                    pass

            self.IProgressMonitor = IProgressMonitor

        class Tensor:
            def __init__(self, name: str, shape: list[int], dtype: Any) -> None:
                self.name, self.shape, self.dtype = name, tuple(shape), dtype

        class Layer:
            def __init__(self, name: str, ltype: Any, outputs: list[Tensor]) -> None:
                self.name, self.type, self.outputs = name, ltype, outputs
                self.num_outputs = len(outputs)

            def get_output(self, i: int) -> Tensor:
                return self.outputs[i]

        class Network:
            def __init__(self, flags: int) -> None:
                self.flags = flags
                self.inputs: list[Tensor] = []
                self.outputs: list[Tensor] = []
                self.layers: list[Layer] = []

            num_inputs = property(lambda s: len(s.inputs))
            num_outputs = property(lambda s: len(s.outputs))
            num_layers = property(lambda s: len(s.layers))

            def get_input(self, i: int) -> Tensor:
                return self.inputs[i]

            def get_output(self, i: int) -> Tensor:
                return self.outputs[i]

            def get_layer(self, i: int) -> Layer:
                return self.layers[i]

            def get_flag(self, flag: Any) -> bool:
                return rtx or major >= 11 or bool(self.flags & (1 << int(flag)))

        class OnnxParser:
            def __init__(self, network: Network, logger: Any) -> None:
                self.network, self.errors = network, []

            num_errors = property(lambda s: len(s.errors))

            def get_error(self, i: int) -> str:
                return self.errors[i]

            def parse_from_file(self, path: str) -> bool:
                return self.parse(Path(path).read_bytes(), path)

            def parse(self, model: bytes, path: str | None = None) -> bool:
                fake.calls.append(("parse", path))
                fake.parsed.append(bytes(model))
                if not parse_ok:
                    self.errors = ["In node 3 (Foo): UNSUPPORTED_NODE: no importer for op Foo"]
                    return False
                m = onnx.shape_inference.infer_shapes(onnx.load_from_string(bytes(model)))
                types = {vi.name: vi.type.tensor_type.elem_type for vi in
                         [*m.graph.value_info, *m.graph.input, *m.graph.output]}
                dt = lambda name: getattr(fake.DataType, _DT.get(types.get(name), "FLOAT"))  # noqa: E731
                chans = {"image": 3, "mask": 1, "prediction": 3}
                self.network.inputs = [Tensor(v.name, [-1, chans[v.name], -1, -1], dt(v.name))
                                       for v in m.graph.input]
                self.network.outputs = [Tensor(v.name, [-1, chans[v.name], -1, -1], dt(v.name))
                                        for v in m.graph.output]
                kinds = {"Conv": "CONVOLUTION", "ConvTranspose": "DECONVOLUTION", "Cast": "CAST",
                         "MaxPool": "POOLING", "Resize": "RESIZE", "Tanh": "ACTIVATION",
                         "LeakyRelu": "ACTIVATION", "Relu": "ACTIVATION"}
                self.network.layers = [
                    Layer(n.name, getattr(fake.LayerType, kinds.get(n.op_type, "ELEMENTWISE")),
                          [Tensor(o, [-1, -1, -1, -1], dt(o)) for o in n.output])
                    for n in m.graph.node]
                return True

        class Profile:
            def __init__(self) -> None:
                self.shapes: dict[str, list] = {}

            def set_shape(self, name: str, mn: Any, opt: Any, mx: Any) -> None:
                self.shapes[name] = [tuple(mn), tuple(opt), tuple(mx)]

            def get_shape(self, name: str) -> list:
                return self.shapes[name]

        class TimingCache:
            def __init__(self, data: bytes) -> None:
                self.data = bytes(data)

            def serialize(self) -> bytes:
                return self.data + b"+timed"

        class Config:
            def __init__(self) -> None:
                self.profiles: list[Profile] = []
                self.ccs: dict[int, Any] = {}
                self.num_compute_capabilities = 0
                self.pools: dict[Any, int] = {}
                self.flags_set: list[Any] = []
                self.timing_cache = None
                self.progress_monitor = None
                self.profiling_verbosity = None
                self.builder_optimization_level = 3
                self.hardware_compatibility_level = fake.HardwareCompatibilityLevel.NONE

            num_optimization_profiles = property(lambda s: len(s.profiles))

            def set_flag(self, flag: Any) -> None:
                self.flags_set.append(flag)

            def set_memory_pool_limit(self, pool: Any, size: int) -> None:
                self.pools[pool] = size

            def add_optimization_profile(self, p: Profile) -> int:
                self.profiles.append(p)
                return len(self.profiles) - 1

            def create_timing_cache(self, data: bytes) -> TimingCache:
                fake.calls.append(("create_timing_cache", bytes(data)))
                return TimingCache(data)

            def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> bool:
                self.timing_cache = cache
                return True

            def set_compute_capability(self, cc: Any, i: int) -> bool:
                assert i < self.num_compute_capabilities
                self.ccs[i] = cc
                return True

            def get_compute_capability(self, i: int) -> Any:
                return self.ccs[i]

        if not rtx:
            del Config.set_compute_capability, Config.get_compute_capability

        class Builder:
            def __init__(self, logger: Any) -> None:
                self.logger = logger

            def create_network(self, flags: int) -> Network:
                fake.calls.append(("create_network", flags))
                return Network(flags)

            def create_builder_config(self) -> Config:
                fake.config = Config()
                return fake.config

            def create_optimization_profile(self) -> Profile:
                return Profile()

            def build_serialized_network(self, network: Network, config: Config) -> bytes | None:
                fake.builds += 1
                time.sleep(fake.build_delay)
                mon = config.progress_monitor
                if mon is not None:
                    mon.phase_start("Building engine", None, 2)
                    mon.phase_start("Timing tactics", "Building engine", 1)
                    mon.step_complete("Timing tactics", 0)
                    mon.phase_finish("Timing tactics")
                    mon.phase_finish("Building engine")
                self.logger.log(type("Sev", (), {"name": "INFO"})(), "engine built")
                if not build_ok:
                    self.logger.log(type("Sev", (), {"name": "ERROR"})(), "out of tactics")
                    return None
                plan = {"io": {t.name: [t.shape, t.dtype.name] for t in
                               [*network.inputs, *network.outputs]},
                        "profiles": [{k: [list(s) for s in v] for k, v in p.shapes.items()}
                                     for p in config.profiles],
                        "half": any(t.dtype.name == "HALF" for lay in network.layers
                                    for t in lay.outputs)}
                return b"FAKEPLAN" + json.dumps(plan).encode()

        class Engine:
            def __init__(self, plan: dict) -> None:
                self.plan = plan
                self.names = list(plan["io"])

            num_io_tensors = property(lambda s: len(s.names))
            num_optimization_profiles = property(lambda s: len(s.plan["profiles"]))

            def get_tensor_name(self, i: int) -> str:
                return self.names[i]

            def get_tensor_mode(self, name: str) -> Any:
                return fake.TensorIOMode.OUTPUT if name == "prediction" else fake.TensorIOMode.INPUT

            def get_tensor_shape(self, name: str) -> tuple:
                return tuple(self.plan["io"][name][0])

            def get_tensor_dtype(self, name: str) -> Any:
                return getattr(fake.DataType, self.plan["io"][name][1])

            def get_tensor_profile_shape(self, name: str, k: int) -> list:
                return [tuple(s) for s in self.plan["profiles"][k][name]]

            def create_engine_inspector(self) -> Any:
                plan = self.plan

                class Inspector:
                    def get_engine_information(self, fmt: Any) -> str:
                        dt = "Half" if plan["half"] else "Float"
                        return json.dumps({"Layers": [
                            {"Name": "Reformat image", "Inputs": [{"Name": "image"}],
                             "Outputs": [{"Name": "x", "Format/Datatype": "Row major linear FP32"}]},
                            {"Name": "conv1", "LayerType": "CaskConvolution",
                             "Outputs": [{"Name": "c1", "Format/Datatype":
                                          f"Channel major {dt.upper()} format"}]},
                            {"Name": "tanh", "Outputs": [{"Name": "t", "Format/Datatype": dt}]}]})

                return Inspector()

        class Runtime:
            def __init__(self, logger: Any) -> None:
                fake.runtimes += 1
                fake.calls.append(("Runtime",))

            def deserialize_cuda_engine(self, blob: bytes) -> Engine | None:
                if not blob.startswith(b"FAKEPLAN"):
                    return None
                return Engine(json.loads(blob[len(b"FAKEPLAN"):]))

        self.Builder, self.OnnxParser, self.Runtime = Builder, OnnxParser, Runtime


def fake_env(version: str = "10.9.0.34", *, rtx: bool = False,
             gpus: tuple[GpuInfo, ...] = (GpuInfo("NVIDIA RTX 4090", 8, 9),), **kw: Any):
    return detect_environment("tensorrt-rtx" if rtx else "tensorrt",
                              trt_module=FakeTrt(version, rtx=rtx, **kw), devices=gpus)


PROFILES = ("1x256x256:1x256x256:4x1024x1024", "1x64x64:2x128x128:2x256x256")


@pytest.mark.parametrize("version", ["10.9.0.34", "11.1.0.106"])
def test_full_tensorrt_build_path(version: str, mini_fp16: Path, tmp_path: Path,
                                  caplog: pytest.LogCaptureFixture) -> None:
    env = fake_env(version)
    trt = env.trt
    req = EngineRequest(profiles=PROFILES, optimization_level=2, workspace_mib=512,
                        hardware_compatibility="ampere_plus")
    tc = tmp_path / "timing.cache"
    tc.write_bytes(b"old")
    engine = tmp_path / "e.engine"
    with caplog.at_level(logging.INFO, logger="rmnet_sdk"):
        sidecar = build_engine(mini_fp16, engine, req, env=env, timing_cache=tc)
    # strongly typed by *name*: bit 1 on 10.x, bit 0 on 11.x; never BuilderFlag.FP16
    flags = next(c[1] for c in trt.calls if c[0] == "create_network")
    assert flags == 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert trt.config.flags_set == []
    assert trt.config.profiling_verbosity == trt.ProfilingVerbosity.DETAILED
    assert trt.config.builder_optimization_level == 2
    assert trt.config.pools == {trt.MemoryPoolType.WORKSPACE: 512 << 20}
    assert trt.config.hardware_compatibility_level == trt.HardwareCompatibilityLevel.AMPERE_PLUS
    assert [p.get_shape("mask") for p in trt.config.profiles][1] == \
        [(1, 1, 64, 64), (2, 1, 128, 128), (2, 1, 256, 256)]
    # timing cache loaded and saved; progress monitor logged phases
    assert ("create_timing_cache", b"old") in trt.calls
    assert tc.read_bytes() == b"old+timed"
    assert "TensorRT build: Building engine (2 steps)" in caplog.text
    # verified on the (fake) GPU: deserialised, profiles from the engine, inspector precision
    assert trt.runtimes == 1
    v = sidecar["verification"]
    assert v["deserialized"] and v["profiles_checked_on"] == "engine"
    assert v["precision_check"]["method"] == "engine_inspector"
    assert v["precision_check"]["fp16_layers"] == 2 and v["precision_check"]["fp32_layers"] == []
    # the sidecar: the C++ runtime's keys + ours
    assert sidecar == read_sidecar(engine) == check_engine(engine)
    assert sidecar["flavour"] == "tensorrt" and sidecar["trt_version"] == version
    assert sidecar["compute_capability"] == "8.9" and sidecar["gpu_name"] == "NVIDIA RTX 4090"
    assert sidecar["precision"] == "fp16" and len(sidecar["profiles"]) == 2
    assert sidecar["profiles"][0] == {"min": [1, 256, 256], "opt": [1, 256, 256],
                                      "max": [4, 1024, 1024]}
    assert sidecar["metadata"]["name"] == "mini"
    assert len(sidecar["onnx_sha256"]) == 64 and sidecar["aot_targets"] == []


def test_full_tensorrt_needs_a_gpu_and_never_creates_a_runtime_without_one(
        mini_fp16: Path, tmp_path: Path) -> None:
    env = fake_env(gpus=())
    with pytest.raises(BackendUnavailableError, match="no CUDA device"):
        build_engine(mini_fp16, tmp_path / "e.engine", env=env)
    assert env.trt.runtimes == 0 and env.trt.builds == 0
    with pytest.raises(InvalidInputError, match="cannot target sm86"):
        build_engine(mini_fp16, tmp_path / "e.engine", EngineRequest(targets=("sm86",)),
                     env=fake_env())
    with pytest.raises(BackendUnavailableError, match="too old"):
        fake_env("8.6.1")


def test_rtx_aot_path_without_gpu(mini_fp16: Path, tmp_path: Path,
                                  caplog: pytest.LogCaptureFixture) -> None:
    env = fake_env("1.7.1.116", rtx=True, gpus=())
    trt = env.trt
    req = EngineRequest(profiles=PROFILES, targets=RTX_AOT)
    with caplog.at_level(logging.INFO, logger="rmnet_sdk"):
        sidecar = build_engine(mini_fp16, tmp_path / "e.engine", req, env=env,
                               timing_cache=tmp_path / "tc")
    assert trt.config.num_compute_capabilities == 3
    assert [trt.config.ccs[i].name for i in range(3)] == ["SM86", "SM89", "SM120"]
    assert trt.runtimes == 0  # no GPU: never a runtime
    assert trt.config.timing_cache is None and not (tmp_path / "tc").exists()
    assert "does not use a timing cache" in caplog.text
    v = sidecar["verification"]
    assert not v["deserialized"] and v["precision_check"]["method"] == "network_dtypes"
    assert v["config"]["compute_capabilities"] == ["sm86", "sm89", "sm120"]
    assert sidecar["compute_capability"] == ["8.6", "8.9", "12.0"]
    assert sidecar["aot_targets"] == list(RTX_AOT) and sidecar["gpu_name"] is None


def test_rtx_target_errors(mini_fp16: Path, tmp_path: Path) -> None:
    env = fake_env("1.7.1.116", rtx=True, gpus=())
    with pytest.raises(InvalidInputError, match="sm87 Jetson Orin or sm90 H100"):
        build_engine(mini_fp16, tmp_path / "e.engine", EngineRequest(targets=("sm87",)), env=env)
    with pytest.raises(InvalidInputError, match="no CUDA device: name the GPUs"):
        build_engine(mini_fp16, tmp_path / "e.engine", EngineRequest(), env=env)
    h100 = fake_env("1.7.1.116", rtx=True, gpus=(GpuInfo("H100", 9, 0),))
    with pytest.raises(BackendUnavailableError, match="sm90"):
        resolve_targets(h100, EngineRequest())
    rtx_gpu = fake_env("1.7.1.116", rtx=True, gpus=(GpuInfo("RTX A6000", 8, 6),))
    assert resolve_targets(rtx_gpu, EngineRequest()) == ("sm86",)


def test_precision_comes_from_the_onnx(mini_fp32: Path, mini_fp16: Path, tmp_path: Path) -> None:
    env = fake_env()
    with pytest.raises(InvalidInputError, match="fp16 engine needs a fp16 ONNX"):
        build_engine(mini_fp32, tmp_path / "e.engine", EngineRequest(precision="fp16"), env=env)
    with pytest.raises(InvalidInputError, match="fp32 engine needs a fp32 ONNX"):
        build_engine(mini_fp16, tmp_path / "e.engine", EngineRequest(precision="fp32"), env=env)
    sidecar = build_engine(mini_fp32, tmp_path / "e32.engine", EngineRequest(precision="fp32"),
                           env=env)
    assert sidecar["precision"] == "fp32"
    assert sidecar["verification"]["precision_check"]["fp16_layers"] == 0


def test_parse_and_build_failures_are_export_errors(mini_fp16: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot parse.*UNSUPPORTED_NODE"):
        build_engine(mini_fp16, tmp_path / "e.engine", env=fake_env(parse_ok=False))
    with pytest.raises(ExportError, match="failed to build the engine: out of tactics"):
        build_engine(mini_fp16, tmp_path / "e.engine", env=fake_env(build_ok=False))
    assert not (tmp_path / "e.engine").exists()
    sidecar = build_engine(mini_fp16, tmp_path / "e.engine", env=fake_env(progress=False))
    assert sidecar["verification"]["deserialized"]
    with pytest.raises(InvalidInputError, match="overwrite the input"):
        build_engine(mini_fp16, mini_fp16, env=fake_env())


def test_inspector_precision_parsing() -> None:
    half = {"Layers": [{"Name": "c", "Outputs": [{"Name": "t", "Format/Datatype": "Half"}]}]}
    assert inspector_precision(json.dumps(half), "fp16")["fp16_layers"] == 1
    fp32_inside = {"Layers": [
        {"Name": "c", "Outputs": [{"Name": "t", "Format/Datatype": "Row major linear FP32"}]},
        {"Name": "d", "Outputs": [{"Name": "u", "Format/Datatype": "FP16"}]}]}
    with pytest.raises(ExportError, match="1 fp32 layer"):
        inspector_precision(json.dumps(fp32_inside), "fp16")
    assert inspector_precision(json.dumps({"Layers": ["only", "names"]}), "fp16") is None
    assert inspector_precision("not json", "fp16") is None


# -- cache keys, sidecars, the engine cache ------------------------------------------------------

def test_cache_key_changes_with_every_part() -> None:
    sha = "a" * 64
    env = fake_env()
    base = EngineRequest()
    key = cache_key(sha, base, env)
    variants = {
        "onnx": cache_key("b" * 64, base, env),
        "trt version": cache_key(sha, base, fake_env("10.9.0.35")),
        "flavour": cache_key(sha, base, fake_env("1.7.1.116", rtx=True)),
        "compute capability": cache_key(sha, base, fake_env(gpus=(GpuInfo("NVIDIA RTX 4090", 8, 6),))),
        "gpu name": cache_key(sha, base, fake_env(gpus=(GpuInfo("NVIDIA L4", 8, 9),))),
        "precision": cache_key(sha, EngineRequest(precision="fp32"), env),
        "profiles": cache_key(sha, EngineRequest(profiles=("1x256x256:1x256x256:2x512x512",)), env),
        "extra profile": cache_key(sha, EngineRequest(profiles=PROFILES), env),
        "opt level": cache_key(sha, EngineRequest(optimization_level=5), env),
        "hw compat": cache_key(sha, EngineRequest(hardware_compatibility="ampere_plus"), env),
        "workspace": cache_key(sha, EngineRequest(workspace_mib=1024), env),
    }
    assert len({key, *variants.values()}) == len(variants) + 1, variants
    assert cache_key(sha, EngineRequest(), fake_env()) == key  # deterministic
    rtx = fake_env("1.7.1.116", rtx=True, gpus=())
    k1 = cache_key(sha, EngineRequest(targets=("sm86",)), rtx)
    assert k1 != cache_key(sha, EngineRequest(targets=("sm86", "sm89")), rtx)
    # an ahead-of-time RTX engine does not depend on the GPU of the build machine
    assert cache_key_parts(sha, EngineRequest(targets=("sm86",)), rtx)["gpu_name"] is None


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RMNET_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "engines"
    monkeypatch.delenv("RMNET_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_cache_dir() == Path.home() / ".cache" / "rmnet-sdk" / "engines"
    assert EngineCache().root == default_cache_dir()


def test_engine_cache_hit_miss_and_rebuild_on_mismatch(mini_fp16: Path, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    env = fake_env()
    cache = EngineCache(tmp_path / "cache", env=env)
    req = EngineRequest(profiles=PROFILES[:1])
    path, sidecar = cache.get_or_build(mini_fp16, req)
    assert env.trt.builds == 1 and path.is_file() and sidecar_path(path).is_file()
    assert path.name == f"{cache.key(mini_fp16, req)}.engine"
    assert cache.lookup(mini_fp16, req) == (path, sidecar)
    again, _ = cache.get_or_build(mini_fp16, req)
    assert again == path and env.trt.builds == 1  # hit
    # a timing cache per flavour + version + SM + GPU model (an L4 and an RTX 4090 are both sm89)
    assert cache.timing_cache_path(req).is_file()
    assert cache.timing_cache_path(req).name == "tensorrt-10.9.0.34-sm89-NVIDIA_RTX_4090.cache"
    # a sidecar that does not match the request: never used, rebuilt with a log line
    data = json.loads(sidecar_path(path).read_text())
    data["trt_version"] = "10.0.0"
    sidecar_path(path).write_text(json.dumps(data))
    with caplog.at_level(logging.INFO, logger="rmnet_sdk"):
        cache.get_or_build(mini_fp16, req)
    assert env.trt.builds == 2 and "rebuilding cached engine" in caplog.text
    assert "trt_version" in caplog.text
    # a corrupt engine file: rebuilt too
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    cache.get_or_build(mini_fp16, req)
    assert env.trt.builds == 3
    # another request is another entry
    p2, _ = cache.get_or_build(mini_fp16, EngineRequest(profiles=PROFILES[1:]))
    assert p2 != path and env.trt.builds == 4


def test_engine_cache_builds_once_under_concurrency(mini_fp16: Path, tmp_path: Path) -> None:
    env = fake_env()
    env.trt.build_delay = 0.5
    results: list[Path] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:  # separate EngineCache objects, same folder: as two processes would
            results.append(EngineCache(tmp_path / "c", env=env).get_or_build(mini_fp16)[0])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert env.trt.builds == 1


def test_corrupt_engine_file_gives_engine_mismatch(mini_fp16: Path, tmp_path: Path) -> None:
    engine = tmp_path / "e.engine"
    build_engine(mini_fp16, engine, env=fake_env())
    check_engine(engine)
    data = bytearray(engine.read_bytes())
    data[len(data) // 2] ^= 0xFF
    engine.write_bytes(bytes(data))
    with pytest.raises(EngineMismatchError, match="sha256"):
        check_engine(engine)
    engine.write_bytes(bytes(data[:100]))
    with pytest.raises(EngineMismatchError, match="bytes"):
        check_engine(engine)
    sidecar_path(engine).write_text("{not json")
    with pytest.raises(EngineMismatchError, match="unreadable"):
        check_engine(engine)
    sidecar_path(engine).unlink()
    with pytest.raises(EngineMismatchError, match="no sidecar"):
        check_engine(engine)
    with pytest.raises(ModelNotFoundError):
        check_engine(tmp_path / "missing.engine")
    other = tmp_path / "o.engine"
    build_engine(mini_fp16, other, env=fake_env())
    with pytest.raises(EngineMismatchError, match="precision"):
        check_engine(other, {"precision": "fp32"})


# -- TensorRT-RTX for real (ahead of time, no GPU needed) ----------------------------------------

def test_rtx_engine_cache_for_real(mini_fp16: Path, tmp_path: Path) -> None:
    from conftest import require_rtx

    require_rtx()
    cache = EngineCache(tmp_path / "rtx")
    req = EngineRequest(profiles=PROFILES, targets=("sm89",), flavour="tensorrt-rtx",
                        optimization_level=0)
    path, sidecar = cache.get_or_build(mini_fp16, req)
    assert sidecar["flavour"] == "tensorrt-rtx" and sidecar["compute_capability"] == "8.9"
    mtime = path.stat().st_mtime_ns
    assert cache.get_or_build(mini_fp16, req)[0] == path and path.stat().st_mtime_ns == mtime
    # The real RTX engine passes every check up to the GPU: no "TensorRT is not installed".
    from rmnet_sdk import Inpainter
    from rmnet_sdk._cuda import cuda_device_count

    if cuda_device_count() == 0:
        with pytest.raises(BackendUnavailableError, match="none found") as info:
            Inpainter(path)
        assert "tensorrt_rtx" in str(info.value) and "not installed" not in str(info.value)


# -- full TensorRT on a GPU ----------------------------------------------------------------------

@pytest.mark.gpu
def test_full_tensorrt_build_and_run_on_gpu(mini_fp32: Path, mini_fp16: Path,
                                            tmp_path: Path) -> None:
    from rmnet_sdk.export import cuda_devices

    devices = cuda_devices()  # checked before anything creates a TensorRT runtime
    if not devices:
        pytest.skip("no CUDA device (cudaGetDeviceCount found none)")
    try:
        env = detect_environment("tensorrt")
    except BackendUnavailableError as e:
        pytest.skip(f"full TensorRT not installed: {e}")
    from cuda.bindings import runtime as cudart

    req = EngineRequest(profiles=("1x64x64:2x128x128:2x256x256",), optimization_level=1)
    engine_path, sidecar = EngineCache(tmp_path / "c", env=env).get_or_build(mini_fp16, req)
    v = sidecar["verification"]
    assert v["deserialized"] and v["profiles_checked_on"] == "engine"
    trt = env.trt
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
    context = engine.create_execution_context()
    image, mask = inputs(2, 96, 160)
    out = np.empty((2, 3, 96, 160), np.float32)
    ptrs = {}
    for name, arr in (("image", image), ("mask", mask), ("prediction", out)):
        err, ptr = cudart.cudaMalloc(arr.nbytes)
        assert int(err) == 0
        ptrs[name] = ptr
        context.set_tensor_address(name, int(ptr))
    try:
        for name, arr in (("image", image), ("mask", mask)):
            context.set_input_shape(name, arr.shape)
            cudart.cudaMemcpy(ptrs[name], arr.ctypes.data, arr.nbytes,
                              cudart.cudaMemcpyKind.cudaMemcpyHostToDevice)
        err, stream = cudart.cudaStreamCreate()
        assert context.execute_async_v3(int(stream))
        cudart.cudaStreamSynchronize(stream)
        cudart.cudaMemcpy(out.ctypes.data, ptrs["prediction"], out.nbytes,
                          cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost)
    finally:
        for ptr in ptrs.values():
            cudart.cudaFree(ptr)
    del context, engine, runtime  # the runtime must outlive its engine
    ref = ort_run(mini_fp32, image, mask)
    assert np.isfinite(out).all()
    assert np.abs(out - ref).max() < 1e-2


def _affine_pool_model(scale: np.ndarray, extra_consumer: bool = False) -> onnx.ModelProto:
    """x -> LeakyRelu -> Mul(scale) -> Add(bias) -> MaxPool 2x2 -> y (R-MNet's encoder tail)."""
    c = scale.size
    bias = np.linspace(-0.5, 0.5, c, dtype=np.float32).reshape(1, c, 1, 1)
    nodes = [helper.make_node("LeakyRelu", ["x"], ["r"], alpha=0.2),
             helper.make_node("Mul", ["r", "scale"], ["m"]),
             helper.make_node("Add", ["bias", "m"], ["a"]),  # constant first: either order is matched
             helper.make_node("MaxPool", ["a"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", c, "h", "w"])]
    if extra_consumer:
        outputs.append(helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", c, "H", "W"]))
    graph = helper.make_graph(
        nodes, "affine_pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, "H", "W"])], outputs,
        [numpy_helper.from_array(scale.reshape(1, c, 1, 1).astype(np.float32), "scale"),
         numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_pool_before_affine_rewrite_is_bit_exact() -> None:
    import onnxruntime as ort

    from rmnet_sdk.export.onnx import rewrite_pool_before_affine

    scale = np.array([0.5, 3.0, 1e-3, 7.25], np.float32)
    model = _affine_pool_model(scale)
    before = model.SerializeToString()
    assert rewrite_pool_before_affine(model) == 1
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["LeakyRelu", "MaxPool", "Mul", "Add"]
    x = np.random.default_rng(0).normal(0, 3, (2, 4, 10, 14)).astype(np.float32)
    run = lambda m: ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]  # noqa: E731
    np.testing.assert_array_equal(run(model.SerializeToString()), run(before))

    negative = _affine_pool_model(np.array([0.5, -1.0, 2.0, 1.0], np.float32))
    assert rewrite_pool_before_affine(negative) == 0  # max(a*x) != a*max(x) for a < 0
    shared = _affine_pool_model(scale, extra_consumer=True)
    assert rewrite_pool_before_affine(shared) == 0    # the pre-pool tensor is a graph output


# -- engine cache reliability (issue 17: items 3, 13, 15) and the build device --------------------

def _external_copy(src: Path, folder: Path) -> Path:
    """``src`` saved with its weights in ``m.onnx.data`` next to ``m.onnx``."""
    folder.mkdir()
    path = folder / "m.onnx"
    onnx.save_model(onnx.load(src), path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="m.onnx.data", size_threshold=0)
    assert (folder / "m.onnx.data").is_file()
    return path


def test_cache_key_covers_external_data(mini_fp16: Path, tmp_path: Path) -> None:
    from rmnet_sdk.export._common import sha256_file

    assert read_onnx_source(mini_fp16).sha256 == sha256_file(mini_fp16)  # inline weights: file hash
    path = _external_copy(mini_fp16, tmp_path / "ext")
    env = fake_env()
    cache = EngineCache(tmp_path / "cache", env=env)
    req = EngineRequest(profiles=PROFILES[:1])
    before = cache.key(path, req)
    engine, sidecar = cache.get_or_build(path, req)  # the parser gets the path for the weights
    assert sidecar["onnx_sha256"] == read_onnx_source(path).sha256 and engine.stem == before
    assert env.trt.calls[[c[0] for c in env.trt.calls].index("parse")] == ("parse", str(path))
    data = bytearray((tmp_path / "ext" / "m.onnx.data").read_bytes())
    data[-1] ^= 0x01  # another weight, same .onnx file
    (tmp_path / "ext" / "m.onnx.data").write_bytes(bytes(data))
    assert cache.key(path, req) != before
    (tmp_path / "ext" / "m.onnx.data").unlink()
    with pytest.raises(ModelNotFoundError, match="m.onnx.data"):
        cache.key(path, req)


def test_build_parses_the_bytes_it_hashed(mini_fp16: Path, mini_fp32: Path, tmp_path: Path) -> None:
    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(mini_fp16.read_bytes())
    source = read_onnx_source(onnx_path)
    onnx_path.write_bytes(mini_fp32.read_bytes())  # replaced after hashing, before parsing
    env = fake_env()
    sidecar = build_engine(onnx_path, tmp_path / "m.engine", EngineRequest(profiles=PROFILES[:1]),
                           env=env, source=source)
    assert env.trt.parsed == [mini_fp16.read_bytes()]
    assert sidecar["onnx_sha256"] == source.sha256


def test_read_only_cache_serves_a_hit_and_unusable_paths_are_typed(mini_fp16: Path,
                                                                   tmp_path: Path) -> None:
    env = fake_env()
    root = tmp_path / "cache"
    req = EngineRequest(profiles=PROFILES[:1])
    path, sidecar = EngineCache(root, env=env).get_or_build(mini_fp16, req)
    # Nothing may be created any more (a file where the lock folder goes stands in for a read-only
    # cache, which root's permissions would not stop): the valid engine is still served.
    import shutil

    shutil.rmtree(root / "locks")
    (root / "locks").write_text("in the way")
    assert EngineCache(root, env=env).get_or_build(mini_fp16, req) == (path, sidecar)
    assert env.trt.builds == 1
    # A miss needs the lock: a typed error, not a raw OSError.
    with pytest.raises(EngineCacheError, match="file is in the way"):
        EngineCache(root, env=env).get_or_build(mini_fp16, EngineRequest(profiles=PROFILES[1:]))
    # A folder where the lock file should be.
    (root / "locks").unlink()
    key = EngineCache(root, env=env).key(mini_fp16, EngineRequest(profiles=PROFILES[1:]))
    (root / "locks" / f"{key}.lock").mkdir(parents=True)
    with pytest.raises(EngineCacheError, match="folder where the engine cache lock"):
        EngineCache(root, env=env).get_or_build(mini_fp16, EngineRequest(profiles=PROFILES[1:]))
    # A file where the cache root should be.
    (tmp_path / "file").write_text("x")
    with pytest.raises(EngineCacheError):
        EngineCache(tmp_path / "file", env=env).get_or_build(mini_fp16, req)


def test_a_held_lock_times_out_with_a_clear_message(mini_fp16: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    env = fake_env()
    cache = EngineCache(tmp_path / "cache", env=env)
    req = EngineRequest(profiles=PROFILES[:1])
    lock = tmp_path / "cache" / "locks" / f"{cache.key(mini_fp16, req)}.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "a+b") as holder:  # a stopped builder: holds the flock and never lets go
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        monkeypatch.setenv("RMNET_CACHE_LOCK_TIMEOUT", "0.3")
        t0 = time.monotonic()
        with pytest.raises(EngineCacheError, match="RMNET_CACHE_LOCK_TIMEOUT") as info:
            cache.get_or_build(mini_fp16, req)
        assert time.monotonic() - t0 < 5 and "delete the lock file" in str(info.value)
        assert isinstance(info.value, OSError) and env.trt.builds == 0
        with pytest.raises(EngineCacheError), file_lock(lock, timeout=0.05):
            pass
    with file_lock(lock, timeout=0.05):  # released: taken at once
        pass


def test_device_selects_the_gpu_of_the_key_and_build(mini_fp16: Path, tmp_path: Path) -> None:
    gpus = (GpuInfo("NVIDIA RTX 4090", 8, 9), GpuInfo("NVIDIA A10", 8, 6))
    env0 = detect_environment("tensorrt", trt_module=FakeTrt(), devices=gpus)
    env1 = detect_environment("tensorrt", trt_module=FakeTrt(), devices=gpus, device=1)
    req = EngineRequest(profiles=PROFILES[:1])
    parts = cache_key_parts("0" * 64, req, env1)
    assert parts["compute_capability"] == ["8.6"] and parts["gpu_name"] == "NVIDIA A10"
    assert cache_key("0" * 64, req, env0) != cache_key("0" * 64, req, env1)
    sidecar = build_engine(mini_fp16, tmp_path / "e.engine", req, env=env1)
    assert sidecar["compute_capability"] == "8.6" and sidecar["gpu_name"] == "NVIDIA A10"
    assert EngineCache(tmp_path / "c", env=env1).device == 1
    with pytest.raises(InvalidInputError, match="device 2 does not exist"):
        detect_environment("tensorrt", trt_module=FakeTrt(), devices=gpus, device=2)


def test_same_compute_capability_on_old_tensorrt_is_a_typed_error(mini_fp16: Path,
                                                                  tmp_path: Path) -> None:
    env = fake_env("10.3.0.30")  # JetPack 6
    req = EngineRequest(profiles=PROFILES[:1], hardware_compatibility="same_compute_capability")
    with pytest.raises(BackendUnavailableError, match="10.9"):
        build_engine(mini_fp16, tmp_path / "e.engine", req, env=env)
    ok = fake_env("10.9.0.34")
    assert build_engine(mini_fp16, tmp_path / "f.engine", req, env=ok)[
        "hardware_compatibility_level"] == "same_compute_capability"


def test_refused_timing_cache_is_not_used(mini_fp16: Path, tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    env = fake_env()
    timing = tmp_path / "t.cache"
    timing.write_bytes(b"old-gpu")
    original = env.trt.Builder

    def builder(logger: Any) -> Any:
        b = original(logger)
        make = b.create_builder_config

        def config() -> Any:
            c = make()
            c.set_timing_cache = lambda cache, ignore: False
            return c

        b.create_builder_config = config
        return b

    env.trt.Builder = builder
    with caplog.at_level(logging.WARNING, logger="rmnet_sdk"):
        build_engine(mini_fp16, tmp_path / "e.engine", EngineRequest(profiles=PROFILES[:1]),
                     env=env, timing_cache=timing)
    assert "refused the timing cache" in caplog.text
    assert timing.read_bytes() == b"old-gpu"  # a refused cache is not overwritten
