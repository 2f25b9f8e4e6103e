"""``rmnet``: inpaint images from the command line, and report what this machine can run.

    rmnet inpaint photo.jpg mask.png -o filled.png [--compare before_after.png]
    rmnet inpaint cutout.png --mask-from-alpha -o filled.png     # transparent = hole
    rmnet inpaint --images photos/ --masks masks/ -o out/        # pairs by relative path
    rmnet inpaint --images photos/ --masks watermark.png -o out/ --resize-mask
    rmnet video clip.mp4 --mask watermark.png -o clean.mp4      # or per-frame masks: a folder
    rmnet info
    rmnet bench --model model.onnx --keras model.keras -o benchmarks/results/my-machine
    rmnet serve [--model model.onnx] [--max-batch 8] [--instances 2]   # Triton, loopback
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading

from . import __version__, machine
from ._argtypes import positive_int
from ._signals import Terminated as _Terminated
from ._signals import install_signal_handlers
from ._signals import raise_terminated as _raise_terminated  # noqa: F401
from .errors import RMNetError
from .inpainter import ENSEMBLES, STRATEGIES
from .models import PRECISIONS

log = logging.getLogger("rmnet_sdk")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's layout and shows each option's default, unless its help already says
    it (argparse's ArgumentDefaultsHelpFormatter would repeat those, and print "None")."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (default is None or default is False or default == argparse.SUPPRESS
                or "default" in text or not action.option_strings):
            return text
        return text + " (default: %(default)s)"


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file (.onnx, .engine, .keras); default: the bundled model")
    p.add_argument("--backend", default="auto",
                   help="auto | tensorrt | onnxruntime | onnxruntime-cuda | keras | native")
    p.add_argument("--device", type=int, default=0, help="CUDA device index (GPU backends)")
    p.add_argument("--strategy", default="auto", choices=STRATEGIES,
                   help="size handling: auto (original up to a short side of twice the model "
                        "resolution, else resize), resize (whole image at model resolution), crop (model-"
                        "resolution crops around each hole: large photos, small holes), original "
                        "(full resolution, padded to a multiple of 16)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads (ONNX Runtime, native runtime; default: all cores)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="bundled model only: which file to run (auto: INT8 on ONNX Runtime CPU, "
                        "fp16 on TensorRT, fp32 otherwise)")
    p.add_argument("--ensemble", default="none", choices=ENSEMBLES,
                   help="flip: also run the mirrored image and average (twice the time)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmnet", description="R-MNet inpainting SDK",
                                     formatter_class=_HelpFormatter, epilog=__doc__)
    parser.add_argument("--version", action="version", version=f"rmnet-sdk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inpaint", help="fill the holes of one image or a folder of images",
                       formatter_class=_HelpFormatter,
                       description="Fill the holes (mask: white = hole) of an image or a folder.")
    from .inpaint_cli import add_arguments as _inpaint_arguments

    _inpaint_arguments(p)
    _add_model_options(p)

    e = sub.add_parser("eval", formatter_class=_HelpFormatter, help="quality per hole-ratio bucket vs OpenCV Telea / NS / prefill",
                       description="PSNR/SSIM/MAE (whole image and holes only) of the model and "
                                   "of OpenCV Telea, Navier-Stokes and the pyramid prefill alone, "
                                   "per hole-ratio bucket, with 95 %% bootstrap intervals over "
                                   "photos and paired differences to each baseline.")
    from .eval_cli import add_arguments as _eval_arguments

    _eval_arguments(e)
    _add_model_options(e)

    bp = sub.add_parser("bench", formatter_class=_HelpFormatter, help="latency/throughput of every backend vs TF-Keras and OpenCV",
                        description="Benchmark every available backend and precision (model-only "
                                    "and end-to-end, per stage) with same-run TF-Keras and OpenCV "
                                    "references; writes bench.json, bench.md, bench.png.")
    from .bench import add_arguments as _bench_arguments

    _bench_arguments(bp)

    vp = sub.add_parser("video", formatter_class=_HelpFormatter,
                        help="fill the holes of every frame of a video or a frame folder",
                        description="Inpaint a video (or a folder of frames) with one static "
                                    "mask (prepared once) or per-frame masks; keeps the frame "
                                    "rate and size.")
    from .video_cli import __doc__ as _video_doc
    from .video_cli import add_arguments as _video_arguments

    vp.epilog = _video_doc
    _video_arguments(vp)
    _add_model_options(vp)
    vp.set_defaults(strategy="crop")

    sp = sub.add_parser("serve", help="serve the model on Triton Inference Server (PyTriton)",
                        description="Serve HxWx3 uint8 images + HxW masks over HTTP/gRPC with "
                                    "dynamic batching, health/readiness and Prometheus metrics.")
    from .serving.cli import add_arguments as _serve_arguments

    _serve_arguments(sp)
    _add_model_options(sp)

    q = sub.add_parser("info", formatter_class=_HelpFormatter,
                       help="backends, GPU, library versions, model metadata")
    _add_model_options(q)
    q.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def machine_info(args: argparse.Namespace | None = None) -> dict[str, object]:
    """What ``rmnet info`` reports: :func:`rmnet_sdk.machine.machine_info`, plus the model that
    ``args`` (the model options) selects, as its backend describes it."""
    info = machine.machine_info()
    if args is not None:
        try:
            from .inpainter import Inpainter

            inp = Inpainter(args.model, backend=args.backend, device=args.device,
                            threads=args.threads, precision=getattr(args, "precision", "auto"))
            info["model"] = {"path": str(inp.model_path), **inp.backend.describe()}
        except RMNetError as e:
            info["model"] = f"unavailable: {e}"
    return info


def _cmd_info(args: argparse.Namespace) -> int:
    info = machine_info(args)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    if threading.current_thread() is threading.main_thread():  # signal.signal's requirement
        install_signal_handlers()
    try:
        if args.command == "inpaint":
            from . import inpaint_cli

            return inpaint_cli.main(args)
        if args.command == "eval":
            from . import eval_cli

            return eval_cli.main(args)
        if args.command == "video":
            from . import video_cli

            return video_cli.main(args)
        if args.command == "bench":
            from . import bench

            return bench.main(args)
        if args.command == "serve":
            from .serving import cli as serve_cli

            return serve_cli.main(args)
        return _cmd_info(args)
    except (RMNetError, FileNotFoundError) as e:
        print(f"rmnet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rmnet: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("rmnet: terminated", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())
