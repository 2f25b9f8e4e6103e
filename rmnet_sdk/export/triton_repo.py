"""A Triton Inference Server model repository for GPU servers: ONNX Runtime + TensorRT plan.

    DIR/rmnet_onnx/config.pbtxt     platform onnxruntime_onnx (the fallback: any GPU or CPU)
    DIR/rmnet_onnx/1/model.onnx
    DIR/rmnet_trt/config.pbtxt      platform tensorrt_plan
    DIR/rmnet_trt/1/model.plan      a full-TensorRT engine (+ its sidecar model.plan.json)

Both models keep the network's IO contract (``image`` [N,3,H,W], ``mask`` [N,1,H,W] ->
``prediction`` [N,3,H,W], NCHW, values in [-1, 1], mask 1 = hole): Triton serves tensors, so
pre-processing and compositing stay with the client (``rmnet_sdk.Inpainter`` does both; ``rmnet
serve`` is the image-level server). Triton's batch dimension is the network's ``N``.

The plan model's configuration follows its engine: ``max_batch_size`` is the largest ``N`` of
the engine's optimisation profiles, spatial dims are fixed only where every profile fixes them,
and the instance group lists the profiles (by index) that its instances may use. A TensorRT plan
runs only on the TensorRT version and GPU it was built for, and only engines of full TensorRT
load in Triton's TensorRT backend (a TensorRT-RTX engine needs the RTX runtime): without such an
engine the plan model gets its configuration, from the requested profiles, and a
``MISSING_PLAN.txt`` with the command that builds the engine on the server.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..contract.io import INPUT_CHANNELS as INPUTS
from ..contract.io import OUTPUT
from ..contract.io import check_onnx_io as check_io_contract
from ..contract.profiles import DEFAULT_PROFILE, Profile
from ..contract.sidecar import read_engine, sidecar_profiles
from ..errors import InvalidInputError
from ._common import log, write_atomic
from .onnx_io import load_onnx

ONNX_MODEL = "rmnet_onnx"
PLAN_MODEL = "rmnet_trt"
DEFAULT_QUEUE_DELAY_US = 2000
_ONNX_TYPES = {1: "TYPE_FP32", 10: "TYPE_FP16"}
_SIDECAR_TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16"}


def _tensor_block(name: str, data_type: str, dims: Sequence[int]) -> str:
    return (f"  {{\n    name: \"{name}\"\n    data_type: {data_type}\n"
            f"    dims: [ {', '.join(str(d) for d in dims)} ]\n  }}")


def _io_section(data_type: str, spatial: tuple[int, int]) -> str:
    inputs = ",\n".join(_tensor_block(name, data_type, (c, *spatial))
                        for name, c in INPUTS.items())
    output = _tensor_block(OUTPUT[0], data_type, (OUTPUT[1], *spatial))
    return f"input [\n{inputs}\n]\noutput [\n{output}\n]\n"


def _batching_section(max_batch_size: int, queue_delay_us: int,
                      preferred: Sequence[int] = ()) -> str:
    pref = sorted({n for n in preferred if 1 <= n <= max_batch_size})
    lines = [f"max_batch_size: {max_batch_size}", "dynamic_batching {"]
    if pref:
        lines.append(f"  preferred_batch_size: [ {', '.join(str(n) for n in pref)} ]")
    lines += [f"  max_queue_delay_microseconds: {queue_delay_us}", "}"]
    return "\n".join(lines) + "\n"


def onnx_config(*, data_type: str = "TYPE_FP32", max_batch_size: int = 8, instances: int = 1,
                kind: str = "KIND_GPU", queue_delay_us: int = DEFAULT_QUEUE_DELAY_US) -> str:
    """``config.pbtxt`` of the ONNX Runtime model: any H, W (multiples of 16, the network's rule)."""
    _check_counts(max_batch_size, instances)
    return (f"name: \"{ONNX_MODEL}\"\nplatform: \"onnxruntime_onnx\"\n"
            + _batching_section(max_batch_size, queue_delay_us)
            + _io_section(data_type, (-1, -1))
            + f"instance_group [\n  {{\n    count: {instances}\n    kind: {kind}\n  }}\n]\n")


def plan_spatial_dims(profiles: Sequence[Profile]) -> tuple[int, int]:
    """H and W as Triton dims: fixed where every profile fixes the same value, else -1."""
    dims = []
    for axis in (1, 2):
        values = {p.min[axis] for p in profiles} | {p.max[axis] for p in profiles}
        dims.append(values.pop() if len(values) == 1 else -1)
    return dims[0], dims[1]


def plan_config(profiles: Sequence[Profile], *, data_type: str = "TYPE_FP32",
                instances: int = 1, queue_delay_us: int = DEFAULT_QUEUE_DELAY_US,
                max_batch_size: int | None = None) -> str:
    """``config.pbtxt`` of the TensorRT plan model, derived from the engine's profiles."""
    if not profiles:
        raise InvalidInputError("a plan model needs the engine's optimisation profiles")
    engine_max = max(p.max[0] for p in profiles)
    max_batch_size = engine_max if max_batch_size is None else int(max_batch_size)
    if max_batch_size > engine_max:
        raise InvalidInputError(f"max_batch_size {max_batch_size} exceeds the engine's largest "
                                f"profile batch ({engine_max})")
    _check_counts(max_batch_size, instances)
    profile_ids = ", ".join(f"\"{i}\"" for i in range(len(profiles)))
    return (f"name: \"{PLAN_MODEL}\"\nplatform: \"tensorrt_plan\"\n"
            + _batching_section(max_batch_size, queue_delay_us, [p.opt[0] for p in profiles])
            + _io_section(data_type, plan_spatial_dims(profiles))
            + f"instance_group [\n  {{\n    count: {instances}\n    kind: KIND_GPU\n"
              f"    profile: [ {profile_ids} ]\n  }}\n]\n")


def _check_counts(max_batch_size: int, instances: int) -> None:
    if int(max_batch_size) < 1:
        raise InvalidInputError(f"max_batch_size must be >= 1, got {max_batch_size}")
    if int(instances) < 1:
        raise InvalidInputError(f"instances must be >= 1, got {instances}")


def _onnx_data_type(onnx_path: Path) -> str:
    model = load_onnx(onnx_path)
    check_io_contract(model, str(onnx_path))
    types = {vi.type.tensor_type.elem_type for vi in model.graph.input if vi.name in INPUTS}
    if len(types) != 1 or next(iter(types)) not in _ONNX_TYPES:
        raise InvalidInputError(f"{onnx_path}: inputs must share one float type, got {types}")
    return _ONNX_TYPES[types.pop()]


def missing_plan_note(profiles: Sequence[Profile], reason: str) -> str:
    args = " ".join(f"--profile {p}" for p in profiles)
    return (f"No model.plan here: {reason}\n\n"
            "Build it on the GPU server (full TensorRT, the version of its Triton release), from "
            "the fp32 ONNX of this repository:\n\n"
            f"  rmnet-export {ONNX_MODEL}/1/model.onnx --fp16 rmnet_fp16.onnx \\\n"
            f"      --engine {PLAN_MODEL}/1/model.plan --flavour tensorrt {args}\n\n"
            "config.pbtxt already matches these profiles; rebuilding with other profiles needs "
            "`rmnet-export ... --triton-repo` again (or an edited config).\n")


def write_triton_repository(repo: str | Path, onnx_path: str | Path, *,
                            engine_path: str | Path | None = None,
                            profiles: Sequence[Profile | str] = (),
                            max_batch_size: int | None = None, instances: int = 1,
                            onnx_kind: str = "KIND_GPU",
                            queue_delay_us: int = DEFAULT_QUEUE_DELAY_US,
                            overwrite: bool = False) -> dict[str, Any]:
    """Write the repository (see module docstring); returns what was written.

    ``engine_path`` (with its sidecar) becomes the plan model when it is a full-TensorRT engine
    that passes :func:`~rmnet_sdk.contract.sidecar.read_engine`; its profiles then define the
    plan config. Otherwise ``profiles`` (default: the exporter's) define it and the plan is left
    to build on the server. ``max_batch_size`` applies to both models (default: the plan's
    largest profile batch).
    """
    repo, onnx_path = Path(repo), Path(onnx_path)
    if repo.exists() and any(repo.iterdir()) and not overwrite:
        raise InvalidInputError(f"{repo} exists and is not empty; pass --force to replace its models")
    onnx_type = _onnx_data_type(onnx_path)
    plan: dict[str, Any] = {"engine": None}
    sidecar = engine = None
    if engine_path is not None:
        # the bytes copied into the repository are the bytes checked, read once
        engine, sidecar = read_engine(engine_path)
        profiles = sidecar_profiles(sidecar)
        if sidecar.get("flavour") != "tensorrt":
            plan["missing"] = (f"{engine_path} is a {sidecar.get('flavour')} engine; Triton's "
                               "TensorRT backend loads engines of full TensorRT only")
            sidecar = None
    else:
        plan["missing"] = "no full-TensorRT engine was given (--engine on a GPU machine)"
    profiles = [Profile.parse(p) if isinstance(p, str) else p for p in profiles] or [DEFAULT_PROFILE]
    plan_max = max(p.max[0] for p in profiles)
    max_batch = plan_max if max_batch_size is None else int(max_batch_size)
    plan_type = (_SIDECAR_TYPES.get(sidecar["io"]["dtype"], "TYPE_FP32") if sidecar
                 else onnx_type)
    configs = {
        ONNX_MODEL: onnx_config(data_type=onnx_type, max_batch_size=max_batch,
                                instances=instances, kind=onnx_kind, queue_delay_us=queue_delay_us),
        PLAN_MODEL: plan_config(profiles, data_type=plan_type, instances=instances,
                                queue_delay_us=queue_delay_us, max_batch_size=max_batch),
    }
    for name in configs:
        if (repo / name).exists():
            shutil.rmtree(repo / name)
    write_atomic(repo / ONNX_MODEL / "1" / "model.onnx", onnx_path.read_bytes())
    plan_dir = repo / PLAN_MODEL / "1"
    plan_dir.mkdir(parents=True, exist_ok=True)
    if sidecar is not None and engine is not None:
        write_atomic(plan_dir / "model.plan", engine)
        write_atomic(plan_dir / "model.plan.json", (json.dumps(sidecar, indent=1) + "\n").encode())
        plan = {"engine": str(engine_path), "missing": None}
    else:
        write_atomic(repo / PLAN_MODEL / "MISSING_PLAN.txt",
                     missing_plan_note(profiles, plan["missing"]).encode())
        log.warning("Triton repository: %s; %s/MISSING_PLAN.txt says how to build it",
                    plan["missing"], PLAN_MODEL)
    for name, text in configs.items():
        write_atomic(repo / name / "config.pbtxt", text.encode())
    log.info("wrote the Triton model repository %s (%s)", repo, ", ".join(configs))
    return {"path": str(repo), "models": list(configs), "max_batch_size": max_batch,
            "profiles": [str(p) for p in profiles], "plan": plan}


__all__ = ["ONNX_MODEL", "PLAN_MODEL", "onnx_config", "plan_config", "plan_spatial_dims",
           "write_triton_repository", "missing_plan_note"]
