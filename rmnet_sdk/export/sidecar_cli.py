"""``rmnet-sidecar``: write the sidecar for a TensorRT engine built outside rmnet-export.

An engine built with ``trtexec`` (on a Jetson, say) has no ``<engine>.json``, and both runtimes
refuse engines without one. This writes it from what the builder knows -- the TensorRT version and
compute capability of the device, the profiles given to trtexec -- and from the ONNX it was built
from (its hash, precision and metadata), with the engine's size and sha256. Neither TensorRT nor a
GPU is needed, so it runs on any machine with the SDK; the C++ runtime on the device then needs
only the two files. With TensorRT or a GPU present, the version or compute capability default to
this machine's.

    rmnet-sidecar rmnet.engine --onnx rmnet_fp16.onnx --trt-version 10.3.0 \\
        --compute-capability 8.7 --profile 1x256x256:1x256x256:4x1024x1024
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..contract.cache_key import FLAVOURS, HW_COMPAT_LEVELS, normalize_target, target_to_cc
from ..contract.metadata import read_onnx_metadata
from ..contract.precision import ENGINE_PRECISIONS, onnx_io_dtype, onnx_precision
from ..contract.profiles import Profile
from ..contract.sidecar import RuntimeExpectation, engine_problems, make_sidecar, sidecar_path
from ..engines.environment import MODULES
from ..engines.onnx_source import read_onnx_source
from ..errors import RMNetError
from ._common import write_atomic

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _local_trt_version(flavour: str) -> str | None:
    try:
        module = importlib.import_module(MODULES[flavour])
    except Exception:
        return None
    return str(getattr(module, "__version__", "")) or None


def _local_cc() -> str | None:
    from .._cuda import cuda_devices

    gpus = cuda_devices()
    return gpus[0].cc if gpus else None


def make_external_sidecar(engine: bytes, source_onnx: Path, *, trt_version: str,
                          compute_capability: str, profiles: Sequence[Profile],
                          flavour: str = "tensorrt", hardware_compatibility: str = "none",
                          precision: str | None = None, built_by: str = "trtexec"
                          ) -> dict[str, Any]:
    """The sidecar of ``engine`` built elsewhere from ``source_onnx`` (the contract's
    :func:`~rmnet_sdk.contract.sidecar.make_sidecar`, as ``rmnet-export`` writes it)."""
    import onnx

    source = read_onnx_source(source_onnx)
    model = onnx.load_from_string(source.data)
    have = onnx_precision(model)
    return make_sidecar(
        flavour=flavour, trt_version=trt_version, compute_capabilities=[compute_capability],
        precision=precision or ("fp16" if have == "fp16" else "fp32"), profiles=profiles,
        onnx_sha256=source.sha256, engine=engine, metadata=read_onnx_metadata(model).to_dict(),
        io_dtype=onnx_io_dtype(model),
        hardware_compatibility=hardware_compatibility,
        verification={"method": f"rmnet-sidecar: declared for an engine built by {built_by}; "
                                "TensorRT version, GPU and profiles as given, not inspected"})


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rmnet-sidecar", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit codes: 0 written, 1 failed, 2 bad arguments or inputs.")
    p.add_argument("engine", type=Path, help="the serialized engine (.engine/.plan)")
    p.add_argument("--onnx", type=Path, required=True,
                   help="the ONNX file the engine was built from (hash, precision, metadata)")
    p.add_argument("--trt-version", help="TensorRT version of the builder, e.g. 10.3.0 (JetPack "
                                         "6.x: dpkg -l | grep nvinfer); default: this machine's")
    p.add_argument("--compute-capability", help="GPU the engine was built on, e.g. 8.7 (Jetson "
                                                "Orin); default: this machine's GPU 0")
    p.add_argument("--profile", action="append", required=True,
                   help="MIN:OPT:MAX as NxHxW each, in the order given to trtexec "
                        "(--minShapes/--optShapes/--maxShapes); repeat for several profiles")
    p.add_argument("--flavour", choices=FLAVOURS, default="tensorrt")
    p.add_argument("--hardware-compatibility", choices=HW_COMPAT_LEVELS, default="none",
                   help="the level the engine was built with (trtexec --hardwareCompatibilityLevel)")
    p.add_argument("--precision", choices=ENGINE_PRECISIONS,
                   help="default: the ONNX's (strongly typed engines take it from the types)")
    p.add_argument("--force", action="store_true", help="replace an existing sidecar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not args.engine.is_file():
            raise FileNotFoundError(f"engine not found: {args.engine}")
        out = sidecar_path(args.engine)
        if out.exists() and not args.force:
            print(f"rmnet-sidecar: {out} exists (use --force to replace it)", file=sys.stderr)
            return EXIT_USAGE
        trt_version = args.trt_version or _local_trt_version(args.flavour)
        cc = args.compute_capability or _local_cc()
        if not trt_version or not cc:
            print("rmnet-sidecar: give --trt-version and --compute-capability of the machine that "
                  "built the engine (this one has no TensorRT or GPU to read them from)",
                  file=sys.stderr)
            return EXIT_USAGE
        cc = target_to_cc(normalize_target(cc))  # "87", "sm87", "8.7" -> "8.7"
        profiles = [Profile.parse(p) for p in args.profile]
        engine = args.engine.read_bytes()
        sidecar = make_external_sidecar(
            engine, args.onnx, trt_version=trt_version, compute_capability=cc,
            profiles=profiles, flavour=args.flavour,
            hardware_compatibility=args.hardware_compatibility, precision=args.precision)
        # What the C++ and Python runtimes will check on the device must pass here.
        problems = engine_problems(sidecar, engine, RuntimeExpectation(
            flavour=args.flavour, trt_version=trt_version, compute_capability=cc))
        if problems:
            print("rmnet-sidecar: " + "; ".join(p.message for p in problems), file=sys.stderr)
            return EXIT_USAGE
        write_atomic(out, (json.dumps(sidecar, indent=1) + "\n").encode())
    except (RMNetError, OSError, ValueError) as e:
        print(f"rmnet-sidecar: {e}", file=sys.stderr)
        return EXIT_USAGE if isinstance(e, (ValueError, FileNotFoundError)) else EXIT_FAILED
    print(f"wrote {out} ({args.flavour} {trt_version}, sm {cc}, {sidecar['precision']}, "
          f"{len(profiles)} profile(s), engine sha256 {sidecar['engine_sha256'][:12]}...)")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
