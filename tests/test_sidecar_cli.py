"""rmnet-sidecar: the sidecar for an engine built by trtexec, accepted by the runtime check that
the C++ runtime shares (tests/data/sidecar_vectors), without TensorRT or a GPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmnet_sdk.export.sidecar_cli import main
from rmnet_sdk.sidecar import RuntimeExpectation, engine_problems, read_engine

JETSON = ["--trt-version", "10.3.0", "--compute-capability", "8.7",
          "--profile", "1x256x256:1x256x256:4x1024x1024"]


def test_writes_a_sidecar_the_device_runtime_accepts(tmp_path: Path, toy_onnx: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    engine = tmp_path / "rmnet.engine"
    engine.write_bytes(b"a plan from trtexec" * 100)
    assert main([str(engine), "--onnx", str(toy_onnx), *JETSON]) == 0
    assert "wrote" in capsys.readouterr().out
    blob, sidecar = read_engine(engine)
    assert sidecar["trt_version"] == "10.3.0" and sidecar["compute_capability"] == "8.7"
    assert sidecar["profiles"] == [{"min": [1, 256, 256], "opt": [1, 256, 256],
                                    "max": [4, 1024, 1024]}]
    jetson = RuntimeExpectation(flavour="tensorrt", trt_version="10.3.0.30",
                                compute_capability="8.7", precision=sidecar["precision"])
    assert engine_problems(sidecar, blob, jetson) == []
    # ... and refused where it cannot run, for the right reason.
    l4 = RuntimeExpectation(flavour="tensorrt", trt_version="10.3.0", compute_capability="8.9")
    assert [p.reason for p in engine_problems(sidecar, blob, l4)] == ["compute_capability"]
    # An existing sidecar is kept unless --force; a rebuilt engine needs a new one.
    assert main([str(engine), "--onnx", str(toy_onnx), *JETSON]) == 2
    engine.write_bytes(b"another plan")
    assert [p.reason for p in engine_problems(json.loads(
        (tmp_path / "rmnet.engine.json").read_text()), b"another plan", jetson)] == ["integrity"]
    assert main([str(engine), "--onnx", str(toy_onnx), *JETSON, "--force"]) == 0
    assert read_engine(engine)[1]["engine_bytes"] == len(b"another plan")


def test_bad_inputs_are_usage_errors(tmp_path: Path, toy_onnx: Path) -> None:
    engine = tmp_path / "e.engine"
    assert main([str(engine), "--onnx", str(toy_onnx), *JETSON]) == 2  # no engine
    engine.write_bytes(b"x")
    assert main([str(engine), "--onnx", str(tmp_path / "missing.onnx"), *JETSON]) == 2
    bad_profile = [*JETSON[:4], "--profile", "1x250x256"]
    assert main([str(engine), "--onnx", str(toy_onnx), *bad_profile]) == 2
    assert not (tmp_path / "e.engine.json").exists()


def test_io_dtype_is_the_models_input_type_not_its_weights(tmp_path: Path) -> None:
    """The bundled fp16 model has fp16 weights and fp32 inputs (casts inside): its sidecar must
    say float32, which is what a server (the Triton repository) feeds it."""
    from rmnet_sdk.models import bundled_model

    engine = tmp_path / "rmnet.engine"
    engine.write_bytes(b"a plan from trtexec")
    assert main([str(engine), "--onnx", str(bundled_model("fp16")), *JETSON]) == 0
    sidecar = read_engine(engine)[1]
    assert sidecar["precision"] == "fp16"
    assert sidecar["io"]["dtype"] == "float32"
