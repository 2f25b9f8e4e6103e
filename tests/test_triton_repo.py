"""``rmnet-export --triton-repo``: each config.pbtxt parsed with Triton's own model-config
protobuf (from tritonclient) and checked against the ONNX model's IO contract and the engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rmnet_sdk.errors import InvalidInputError

pytest.importorskip("onnx")


def _parse_config(path: Path):
    from google.protobuf import text_format

    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def _type_name(config, value: int) -> str:
    from tritonclient.grpc import model_config_pb2

    return model_config_pb2.DataType.Name(value)


def _onnx_contract(path: Path) -> dict[str, tuple[str, list[int]]]:
    """name -> (Triton type name, dims without N; -1 for a dynamic dim) from the ONNX graph."""
    import onnx

    model = onnx.load(str(path))
    types = {onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.FLOAT16: "TYPE_FP16"}
    out = {}
    for vi in [*model.graph.input, *model.graph.output]:
        t = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        out[vi.name] = (types[t.elem_type], dims[1:])
    return out


def _check_io(config, contract: dict[str, tuple[str, list[int]]], spatial: tuple[int, int]):
    """Names image/mask -> prediction, NCHW without the batch dim, dtypes as the ONNX model."""
    assert [i.name for i in config.input] == ["image", "mask"]
    assert [o.name for o in config.output] == ["prediction"]
    for tensor in [*config.input, *config.output]:
        onnx_type, onnx_dims = contract[tensor.name]
        channels = onnx_dims[0]
        assert list(tensor.dims) == [channels, *spatial], tensor.name
        for have, want in zip(tensor.dims, onnx_dims, strict=True):
            assert want == -1 or have == want  # the config never contradicts the network
        assert _type_name(config, tensor.data_type) == onnx_type


def test_repository_from_onnx_without_engine(toy_onnx, tmp_path):
    from rmnet_sdk.export.cli import main

    repo = tmp_path / "models"
    rc = main([str(toy_onnx), "--triton-repo", str(repo), "-q",
               "--profile", "1x64x64:2x64x64:4x64x64",
               "--profile", "1x128x128:1x256x256:8x512x512", "--triton-instances", "2"])
    assert rc == 0
    contract = _onnx_contract(toy_onnx)
    assert (repo / "rmnet_onnx/1/model.onnx").read_bytes() == toy_onnx.read_bytes()

    onnx_cfg = _parse_config(repo / "rmnet_onnx/config.pbtxt")
    assert (onnx_cfg.name, onnx_cfg.platform) == ("rmnet_onnx", "onnxruntime_onnx")
    assert onnx_cfg.max_batch_size == 8
    assert onnx_cfg.dynamic_batching.max_queue_delay_microseconds == 2000
    _check_io(onnx_cfg, contract, (-1, -1))
    assert [(g.count, g.kind) for g in onnx_cfg.instance_group] == [(2, 1)]  # KIND_GPU

    plan_cfg = _parse_config(repo / "rmnet_trt/config.pbtxt")
    assert (plan_cfg.name, plan_cfg.platform) == ("rmnet_trt", "tensorrt_plan")
    assert plan_cfg.max_batch_size == 8  # the largest N of the profiles
    assert list(plan_cfg.dynamic_batching.preferred_batch_size) == [1, 2]  # profiles' opt N
    _check_io(plan_cfg, contract, (-1, -1))
    (group,) = plan_cfg.instance_group
    assert (group.count, list(group.profile)) == (2, ["0", "1"])
    assert not (repo / "rmnet_trt/1/model.plan").exists()
    note = (repo / "rmnet_trt/MISSING_PLAN.txt").read_text()
    assert "--profile 1x64x64:2x64x64:4x64x64 --profile 1x128x128:1x256x256:8x512x512" in note

    # an existing repository is kept unless --force
    assert main([str(toy_onnx), "--triton-repo", str(repo), "-q"]) == 2
    assert main([str(toy_onnx), "--triton-repo", str(repo), "-q", "--force"]) == 0


def _fake_engine(tmp_path: Path, *, flavour: str, profiles: list[dict], io_dtype: str) -> Path:
    """An engine file and a sidecar that check_engine accepts (no TensorRT needed)."""
    from rmnet_sdk.export._common import sha256_bytes

    blob = np.random.default_rng(0).bytes(4096)
    engine = tmp_path / "rmnet.engine"
    engine.write_bytes(blob)
    sidecar = {"format": 1, "flavour": flavour, "precision": "fp16", "profiles": profiles,
               "io": {"layout": "NCHW", "dtype": io_dtype}, "engine_bytes": len(blob),
               "engine_sha256": sha256_bytes(blob), "onnx_sha256": "ab" * 32,
               "trt_version": "10.3.0", "compute_capability": "8.7"}
    (tmp_path / "rmnet.engine.json").write_text(json.dumps(sidecar))
    return engine


def test_plan_model_follows_the_engine(toy_onnx, tmp_path):
    from rmnet_sdk.export.triton_repo import write_triton_repository

    fixed = {"min": [1, 256, 256], "opt": [4, 256, 256], "max": [4, 256, 256]}
    engine = _fake_engine(tmp_path, flavour="tensorrt", profiles=[fixed], io_dtype="float16")
    result = write_triton_repository(tmp_path / "repo", toy_onnx, engine_path=engine)
    assert result["plan"]["missing"] is None
    plan_dir = tmp_path / "repo/rmnet_trt"
    assert (plan_dir / "1/model.plan").read_bytes() == engine.read_bytes()
    assert json.loads((plan_dir / "1/model.plan.json").read_text())["profiles"] == [fixed]
    cfg = _parse_config(plan_dir / "config.pbtxt")
    assert cfg.max_batch_size == 4
    assert [list(t.dims) for t in [*cfg.input, *cfg.output]] == [[3, 256, 256], [1, 256, 256],
                                                                  [3, 256, 256]]
    assert {_type_name(cfg, t.data_type) for t in [*cfg.input, *cfg.output]} == {"TYPE_FP16"}
    assert list(cfg.instance_group[0].profile) == ["0"]

    with pytest.raises(InvalidInputError, match="exceeds the engine's largest profile batch"):
        write_triton_repository(tmp_path / "repo2", toy_onnx, engine_path=engine, max_batch_size=8)


def test_rtx_engine_is_not_a_triton_plan(toy_onnx, tmp_path):
    from rmnet_sdk.export.triton_repo import write_triton_repository

    prof = {"min": [1, 64, 64], "opt": [1, 64, 64], "max": [2, 128, 128]}
    engine = _fake_engine(tmp_path, flavour="tensorrt-rtx", profiles=[prof], io_dtype="float32")
    result = write_triton_repository(tmp_path / "repo", toy_onnx, engine_path=engine)
    assert "Triton's TensorRT backend loads engines of full TensorRT only" in result["plan"]["missing"]
    assert not (tmp_path / "repo/rmnet_trt/1/model.plan").exists()
    cfg = _parse_config(tmp_path / "repo/rmnet_trt/config.pbtxt")
    assert cfg.max_batch_size == 2  # from the engine's profile all the same
    assert list(cfg.input[0].dims) == [3, -1, -1]
