"""The artifact contract: profiles and their one plan rule, the sidecar writer and the one engine
check, and that the contract stays importable by every layer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rmnet_sdk.contract.cache_key import EngineRequest
from rmnet_sdk.contract.precision import ONNX_PRECISIONS
from rmnet_sdk.contract.profiles import Profile, plan_batches, select_profile
from rmnet_sdk.contract.sidecar import (
    RuntimeExpectation,
    check_engine,
    make_sidecar,
    schema_problems,
    sidecar_path,
)
from rmnet_sdk.errors import EngineMismatchError, InvalidInputError, ModelNotFoundError

SHA = "ab" * 32


# -- profiles ------------------------------------------------------------------------------------

def test_profile_structure_is_checked_for_every_profile():
    # an engine built elsewhere may have any sizes TensorRT allows: only the structure is checked
    p = Profile((1, 1, 1), (1, 8, 8), (2, 100, 100))
    assert p.accepts(2, 50, 99) and not p.accepts(3, 50, 50)
    for bad in [((0, 16, 16), (1, 16, 16), (1, 16, 16)),      # N = 0
                ((1, 32, 32), (1, 16, 16), (1, 64, 64)),      # min > opt
                ((1, 16), (1, 16, 16), (1, 16, 16)),          # two numbers
                ((1, 16.5, 16), (1, 32, 32), (1, 32, 32)),    # not an integer
                ((True, 16, 16), (1, 16, 16), (1, 16, 16))]:  # a bool is not a number
        with pytest.raises(InvalidInputError):
            Profile(*bad)


def test_profiles_to_build_keep_the_model_size_multiple():
    with pytest.raises(InvalidInputError, match="multiples of 16"):
        Profile.parse("1x250x256:1x256x256:1x256x256")
    with pytest.raises(InvalidInputError, match="multiples of 16"):
        EngineRequest(profiles=(Profile((1, 8, 8), (1, 16, 16), (1, 16, 16)),))
    assert EngineRequest(profiles=("1x16x16:1x32x32:2x64x64",)).profiles[0].max == (2, 64, 64)


def test_select_profile_is_the_first_chunk_of_the_plan():
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(300):
        profiles = []
        for _ in range(rng.integers(1, 4)):
            lo = rng.integers(1, 4, 3) * np.array([1, 16, 16])
            hi = lo + rng.integers(0, 4, 3) * np.array([1, 16, 16])
            opt = lo + ((hi - lo) // 32) * 16 * np.array([0, 1, 1]) + (hi - lo) // 2 * np.array([1, 0, 0])
            profiles.append(Profile(tuple(lo), tuple(opt), tuple(hi)))
        n, h, w = int(rng.integers(1, 9)), int(rng.integers(1, 7)) * 16, int(rng.integers(1, 7)) * 16
        try:
            plan = plan_batches(profiles, n, h, w)
        except InvalidInputError:
            with pytest.raises(InvalidInputError):
                select_profile(profiles, n, h, w)
            continue
        assert select_profile(profiles, n, h, w) == plan[0][1]
        assert sum(s.stop - s.start for s, _ in plan) == n
        assert all(profiles[i].accepts(s.stop - s.start, h, w) for s, i in plan)
        checked += 1
    assert checked > 50


# -- the sidecar ---------------------------------------------------------------------------------

def _write_engine(tmp_path: Path, **overrides) -> tuple[Path, dict]:
    blob = np.random.default_rng(1).bytes(2048)
    engine = tmp_path / "m.engine"
    engine.write_bytes(blob)
    fields = dict(flavour="tensorrt", trt_version="10.3.0.30", compute_capabilities=["8.7"],
                  precision="fp16", profiles=[Profile((1, 256, 256), (1, 256, 256), (4, 512, 512))],
                  onnx_sha256=SHA, engine=blob, metadata={"resolution": 256})
    fields.update(overrides)
    sidecar = make_sidecar(**fields)
    sidecar_path(engine).write_text(json.dumps(sidecar))
    return engine, sidecar


def test_make_sidecar_writes_what_the_schema_and_both_runtimes_accept(tmp_path):
    engine, sidecar = _write_engine(tmp_path)
    assert schema_problems(sidecar) == []
    assert sidecar["compute_capability"] == "8.7" and sidecar["engine_bytes"] == 2048
    assert sidecar["io"]["mask"] == [-1, 1, -1, -1]
    runtime = RuntimeExpectation("tensorrt", "10.3.0", "8.7", precision="fp16", onnx_sha256=SHA)
    blob, read = check_engine(engine, runtime, expected={"precision": "fp16", "onnx_sha256": SHA})
    assert blob == engine.read_bytes() and read == sidecar
    _, multi = _write_engine(tmp_path, flavour="tensorrt-rtx", compute_capabilities=["8.6", "8.9"])
    assert multi["compute_capability"] == ["8.6", "8.9"]


def test_make_sidecar_refuses_to_write_a_malformed_sidecar(tmp_path):
    with pytest.raises(InvalidInputError, match="onnx_sha256"):
        _write_engine(tmp_path, onnx_sha256="not-a-hash")
    with pytest.raises(InvalidInputError, match="trt_version"):
        _write_engine(tmp_path, trt_version="ten")


def test_check_engine_reports_every_problem_at_once(tmp_path):
    engine, sidecar = _write_engine(tmp_path)
    runtime = RuntimeExpectation("tensorrt", "10.4.0", "8.9", precision="fp32")
    with pytest.raises(EngineMismatchError) as e:
        check_engine(engine, runtime, expected={"cache_key": "c" * 64})
    text = str(e.value)
    for part in ("10.4.0", "compute capability", "precision", "cache_key"):
        assert part in text, (part, text)
    # without a runtime: the schema and the bytes, which need no TensorRT and no GPU
    broken = dict(sidecar, profiles=[{"min": [1, 256], "opt": [1, 256, 256], "max": [1, 256, 256]}])
    sidecar_path(engine).write_text(json.dumps(broken))
    with pytest.raises(EngineMismatchError, match="profiles/0/min"):
        check_engine(engine)
    sidecar_path(engine).write_text(json.dumps(sidecar))
    engine.write_bytes(engine.read_bytes()[:-1])
    with pytest.raises(EngineMismatchError, match="truncated"):
        check_engine(engine)
    with pytest.raises(ModelNotFoundError):
        check_engine(tmp_path / "absent.engine")


def test_old_module_paths_name_the_contract_objects():
    import rmnet_sdk.metadata
    import rmnet_sdk.sidecar
    from rmnet_sdk.contract import metadata, sidecar

    assert rmnet_sdk.sidecar.engine_problems is sidecar.engine_problems
    assert rmnet_sdk.metadata.ModelMetadata is metadata.ModelMetadata


def test_the_contract_imports_no_engine_library():
    """Every layer imports the contract, so it must stay light: no OpenCV, ONNX Runtime, onnx,
    TensorRT or TensorFlow at import time (fresh interpreter: other tests loaded them here)."""
    code = ("import sys, json; import rmnet_sdk.contract.io, rmnet_sdk.contract.precision, "
            "rmnet_sdk.contract.profiles, rmnet_sdk.contract.metadata, rmnet_sdk.contract.sidecar, "
            "rmnet_sdk.contract.cache_key; print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    heavy = ("cv2", "onnxruntime", "onnx", "tensorrt", "tensorrt_rtx", "tensorflow", "keras",
             "jsonschema")
    assert [m for m in loaded if m.split(".")[0] in heavy] == []


def test_bundled_files_cover_the_contracts_precisions():
    from rmnet_sdk.models import BUNDLED

    assert set(BUNDLED) == set(ONNX_PRECISIONS)
