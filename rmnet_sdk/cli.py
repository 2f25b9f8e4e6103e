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
import signal
import sys
import threading
import warnings
from pathlib import Path

import numpy as np

from . import __version__, machine
from ._argtypes import positive_int
from .errors import InvalidInputError, RMNetError
from .imaging import list_images, read_image, write_image
from .inpainter import ORIGINAL_MAX_PIXELS, EmptyMaskWarning

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


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so ``finally`` blocks run: the atomic writer removes
    its temporary file and a folder run prints its summary, as on Ctrl-C."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated()


def install_signal_handlers() -> None:
    """SIGTERM unwinds like SIGINT (Python's default for SIGTERM kills without cleanup)."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file (.onnx, .engine, .keras); default: the bundled model")
    p.add_argument("--backend", default="auto",
                   help="auto | tensorrt | onnxruntime | onnxruntime-cuda | keras | native")
    p.add_argument("--device", type=int, default=0, help="CUDA device index (GPU backends)")
    p.add_argument("--strategy", default="auto", choices=["auto", "resize", "crop", "original"],
                   help="size handling: auto (original up to a short side of twice the model "
                        "resolution, else resize), resize (whole image at model resolution), crop (model-"
                        "resolution crops around each hole: large photos, small holes), original "
                        "(full resolution, padded to a multiple of 16)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads (ONNX Runtime, native runtime; default: all cores)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"],
                   help="bundled model only: which file to run (auto: INT8 on ONNX Runtime CPU, "
                        "fp16 on TensorRT, fp32 otherwise)")
    p.add_argument("--ensemble", default="none", choices=["none", "flip"],
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
    p.add_argument("image", nargs="?", help="input image (single-image mode)")
    p.add_argument("mask", nargs="?", help="mask image, white = hole (single-image mode)")
    p.add_argument("--images", help="folder of input images (folder mode)")
    p.add_argument("--masks", help="folder of masks paired by relative path (images/a/b.jpg <- "
                                   "masks/a/b.*), or one mask file for all")
    p.add_argument("--mask-from-alpha", action="store_true",
                   help="no mask files: the hole is where the (RGBA) image is transparent "
                        "(alpha <= 127); the output is opaque RGB")
    p.add_argument("-o", "--output", required=True,
                   help="output file (single mode) or folder (folder mode; PNG files)")
    p.add_argument("--mask-polarity", default="white-hole", choices=["white-hole", "black-hole"],
                   help="mask files: white-hole or black-hole (QD-IMD and NVIDIA sets)")
    p.add_argument("--resize-mask", action="store_true",
                   help="resize masks to each image's size (holes never shrink) instead of "
                        "failing on a size mismatch")
    p.add_argument("--color", default="rgb", choices=["rgb", "bgr"],
                   help="channel order handed to the model (files are always read as RGB)")
    p.add_argument("--format", default="png", choices=["png", "jpg", "webp"],
                   help="output format in folder mode (png is lossless)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing output files (never an input)")
    p.add_argument("--compare", help="single mode: also write a before | after image here")
    p.add_argument("--max-image-pixels", type=positive_int, default=None,
                   help="refuse input files with more pixels (decompression bombs; default: "
                        "$RMNET_MAX_IMAGE_PIXELS, else 178956970)")
    p.add_argument("--max-original-pixels", type=positive_int, default=ORIGINAL_MAX_PIXELS,
                   help="full-resolution budget (padded HxW): above it strategy auto resizes "
                        "and original is refused")
    _add_model_options(p)

    e = sub.add_parser("eval", formatter_class=_HelpFormatter, help="quality per hole-ratio bucket vs OpenCV Telea / NS / prefill",
                       description="PSNR/SSIM/MAE (whole image and holes only) of the model and "
                                   "of OpenCV Telea, Navier-Stokes and the pyramid prefill alone, "
                                   "per hole-ratio bucket, with 95 %% bootstrap intervals over "
                                   "photos and paired differences to each baseline.")
    e.add_argument("--images", required=True, help="folder of evaluation images")
    e.add_argument("--files", help="JSON list (or file with one name per line) restricting "
                                   "--images, or a split JSON ({\"train\": [...], \"test\": "
                                   "[...]}, see --subset)")
    e.add_argument("--subset", default="test",
                   help="with a split JSON in --files: which list to evaluate (default: test)")
    e.add_argument("--masks-per-bucket", type=int, default=1,
                   help="generated masks per image and bucket (default: 1)")
    e.add_argument("--masks", help="folder of masks (default: generated per image and bucket)")
    e.add_argument("--mask-polarity", default="white-hole", choices=["white-hole", "black-hole"])
    e.add_argument("--buckets", default="0.01-0.1,0.1-0.2,0.2-0.3,0.3-0.4,0.4-0.5,0.5-0.6",
                   help="hole-ratio buckets for generated masks, e.g. 0.1-0.2,0.2-0.3")
    e.add_argument("--size", type=int, default=256, help="evaluation resolution (square)")
    e.add_argument("--limit", type=int, help="use at most this many images")
    e.add_argument("--seed", type=int, default=0, help="mask seed")
    e.add_argument("--no-baselines", action="store_true", help="skip OpenCV Telea / NS")
    e.add_argument("--inception", metavar="INCEPTION.onnx",
                   help="also report FID, with this Inception feature network (ONNX; not "
                        "downloaded by the SDK, see rmnet_sdk.metrics.fid)")
    e.add_argument("-o", "--output", required=True, help="folder for eval.json, eval.md, grid.png")
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


def _hole_from_alpha(image: np.ndarray, image_path: Path) -> np.ndarray:
    """The hole of ``--mask-from-alpha``: transparent pixels (alpha <= 127, the threshold of
    every mask file)."""
    from . import masks

    if image.ndim != 3 or image.shape[2] != 4:
        raise InvalidInputError(f"--mask-from-alpha: {image_path} has no alpha channel")
    return masks.binarize(image[:, :, 3], polarity="black-hole")


def _load_pair(image_path: Path, mask_path: Path | None, args: argparse.Namespace):
    """The image (RGBA kept, except with --mask-from-alpha, whose output is opaque) and its
    hole mask, sizes checked; warns when the mask has no hole."""
    from . import masks

    image = read_image(image_path, keep_alpha=True, max_pixels=args.max_image_pixels)
    if mask_path is None:
        hole = _hole_from_alpha(image, image_path)
        image = np.ascontiguousarray(image[:, :, :3])
        source = f"the alpha channel of {image_path.name}"
    else:
        hole = masks.read_mask(mask_path, polarity=args.mask_polarity,
                               max_pixels=args.max_image_pixels)
        source = f"mask {mask_path.name}"
    if hole.shape != image.shape[:2]:
        if not args.resize_mask:
            raise InvalidInputError(
                f"mask {mask_path.name if mask_path else ''} is {hole.shape[0]}x{hole.shape[1]} "
                f"(HxW) but image {image_path.name} is {image.shape[0]}x{image.shape[1]}: they "
                "must have the same size (or use --resize-mask)")
        hole = masks.resize_hole_mask(hole, image.shape[:2])
    if not hole.any():
        hint = ("" if args.mask_from_alpha else
                "; if the hole is painted as transparency, use --mask-from-alpha" if
                image.ndim == 3 and image.shape[2] == 4 else
                f"; check --mask-polarity (now {args.mask_polarity})")
        log.warning("%s has no hole pixels: %s is written unchanged%s", source,
                    image_path.name, hint)
    return image, hole


def _check_output(out: Path, inputs: list[Path | None], *, overwrite: bool,
                  others: tuple[Path, ...] = ()) -> None:
    """Refuse an output that is an input (even with --overwrite), a folder, another output of
    the same run, or an existing file without --overwrite -- before any work is done."""
    for p in inputs:
        if p is not None and p.exists() and out.exists() and out.resolve() == p.resolve():
            raise InvalidInputError(f"output {out} is an input file: refusing to overwrite it")
    for other in others:
        if out.resolve() == other.resolve():
            raise InvalidInputError(f"{out} is given twice as an output")
    if out.is_dir():
        raise InvalidInputError(f"output {out} is a folder: give a file path (e.g. "
                                f"{out / 'filled.png'}), or use --images DIR for folder mode")
    if out.exists() and not overwrite:
        raise InvalidInputError(f"{out} exists (use --overwrite to replace it)")


def _pair_masks(images: list[Path], images_dir: Path,
                masks_dir: Path) -> list[tuple[Path, Path | None, str | None]]:
    """``(image, mask, problem)`` per image, pairing ``images_dir/a/b.jpg`` with
    ``masks_dir/a/b.<any image suffix>``: by relative path, never by stem alone (two subfolders
    can hold the same name). Zero or several candidates is a problem for that image only."""
    by_key: dict[Path, list[Path]] = {}
    for m in list_images(masks_dir):
        by_key.setdefault(m.relative_to(masks_dir).with_suffix(""), []).append(m)
    pairs: list[tuple[Path, Path | None, str | None]] = []
    for image in images:
        key = image.relative_to(images_dir).with_suffix("")
        found = by_key.get(key, [])
        if len(found) == 1:
            pairs.append((image, found[0], None))
        elif not found:
            pairs.append((image, None, f"no mask {masks_dir / key}.* (masks pair by relative "
                                       "path)"))
        else:
            pairs.append((image, None, "ambiguous masks: " + ", ".join(str(m) for m in found)
                          + " (keep one)"))
    return pairs


def _write_failed(path: Path, e: OSError) -> str:
    return f"cannot write {path}: {e.strerror or e}"


def _inpaint_single(args: argparse.Namespace, inpainter) -> int:
    image_path, out = Path(args.image), Path(args.output)
    mask_path = None if args.mask_from_alpha else Path(args.mask)
    compare = Path(args.compare) if args.compare else None
    _check_output(out, [image_path, mask_path], overwrite=args.overwrite)
    if compare is not None:
        _check_output(compare, [image_path, mask_path], overwrite=args.overwrite, others=(out,))
    image, hole = _load_pair(image_path, mask_path, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyMaskWarning)  # _load_pair said it, with file names
        result = inpainter.run(image, hole, color=args.color)
    try:
        write_image(out, result, overwrite=args.overwrite)
        if compare is not None:
            before = image.copy()
            before[hole] = 255
            gutter = np.full((image.shape[0], 8, image.shape[2]), 255, np.uint8)
            write_image(compare, np.concatenate([before, gutter, result], axis=1),
                        overwrite=args.overwrite)
    except OSError as e:
        print(f"rmnet: error: {_write_failed(Path(e.filename or out), e)}", file=sys.stderr)
        return 1
    print(f"wrote {out}" + (f" and {compare}" if compare else ""))
    return 0


def _inpaint_folder(args: argparse.Namespace, inpainter) -> int:
    from tqdm.auto import tqdm

    images_dir = Path(args.images)
    images = list_images(images_dir)
    if not images:
        raise InvalidInputError(f"no images found in {images_dir}")
    failures: list[str] = []
    if args.mask_from_alpha:
        pairs: list[tuple[Path, Path | None, str | None]] = [(p, None, None) for p in images]
    else:
        masks_arg = Path(args.masks)
        if masks_arg.is_dir():
            pairs = _pair_masks(images, images_dir, masks_arg)
        elif masks_arg.is_file():
            pairs = [(p, masks_arg, None) for p in images]
        else:
            raise InvalidInputError(f"--masks {masks_arg} is neither a folder nor a file")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"-o {out_dir} is a file; folder mode writes into a folder")
    # two inputs that differ only in suffix (dup.jpg, dup.png) would write one output file
    outputs: dict[Path, list[Path]] = {}
    for image_path, _, _ in pairs:
        rel = image_path.relative_to(images_dir).with_suffix("." + args.format)
        outputs.setdefault(out_dir / rel, []).append(image_path)
    written = skipped = done = 0
    interrupted: str | None = None
    try:
        for image_path, mask_path, problem in tqdm(pairs, desc="inpainting", unit="img"):
            out = out_dir / image_path.relative_to(images_dir).with_suffix("." + args.format)
            done += 1
            try:
                if problem is not None:
                    raise InvalidInputError(problem)
                if len(outputs[out]) > 1:
                    raise InvalidInputError(
                        f"{' and '.join(p.name for p in outputs[out])} would both be written to "
                        f"{out}: rename one of them")
                _check_output(out, [image_path, mask_path], overwrite=True)
                if out.exists() and not args.overwrite:
                    skipped += 1
                    continue
                image, hole = _load_pair(image_path, mask_path, args)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", EmptyMaskWarning)
                    result = inpainter.run(image, hole, color=args.color)
                write_image(out, result, overwrite=args.overwrite)
                written += 1
            except RMNetError as e:
                failures.append(f"{image_path}: {e}")
            except OSError as e:  # the output side: permissions, a full disk, a file as folder
                failures.append(f"{image_path}: {_write_failed(Path(e.filename or out), e)}")
    except KeyboardInterrupt:
        interrupted = "interrupted (Ctrl-C)"
    except _Terminated:
        interrupted = "terminated (SIGTERM)"
    print(f"wrote {written} image(s) to {out_dir}" +
          (f", kept {skipped} existing (use --overwrite)" if skipped else ""))
    if interrupted:
        print(f"{interrupted} after {done - 1} of {len(pairs)} input(s); finished outputs are "
              "complete, rerun to do the rest (existing outputs are kept)", file=sys.stderr)
    if failures:
        print(f"{len(failures)} input(s) failed:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
    if interrupted:
        return 143 if interrupted.startswith("terminated") else 130
    return 1 if failures else 0


def _cmd_inpaint(args: argparse.Namespace) -> int:
    from .inpainter import Inpainter

    folder_mode = args.images is not None
    if folder_mode == (args.image is not None):
        raise InvalidInputError("give either IMAGE MASK or --images DIR --masks DIR|FILE")
    if args.mask_from_alpha:
        if args.mask is not None or args.masks is not None:
            raise InvalidInputError("--mask-from-alpha takes the hole from the image's alpha: "
                                    "give no mask files")
    elif not folder_mode and args.mask is None:
        raise InvalidInputError("single-image mode needs IMAGE and MASK (or --mask-from-alpha)")
    elif folder_mode and args.masks is None:
        raise InvalidInputError("folder mode needs --masks DIR|FILE (or --mask-from-alpha)")
    inpainter = Inpainter(args.model, backend=args.backend, device=args.device,
                          strategy=args.strategy, threads=args.threads, precision=args.precision,
                          max_original_pixels=args.max_original_pixels)
    log.info("%r", inpainter)
    return _inpaint_folder(args, inpainter) if folder_mode else _inpaint_single(args, inpainter)


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


def _cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate, load_eval_images, opencv_method, save_result
    from .imaging import list_images as _list
    from .inpainter import Inpainter
    from .prefill import prefill_uint8

    files = None
    if args.files:
        text = Path(args.files).read_text()
        files = json.loads(text) if text.lstrip().startswith(("[", "{")) else text.split()
        if isinstance(files, dict):
            if args.subset not in files:
                raise InvalidInputError(f"{args.files} has no {args.subset!r} list "
                                        f"(it has {sorted(files)})")
            files = files[args.subset]
    buckets = []
    for part in args.buckets.split(","):
        lo, _, hi = part.partition("-")
        buckets.append((float(lo), float(hi)))
    images = load_eval_images(args.images, files=files, limit=args.limit)
    inp = Inpainter(args.model, backend=args.backend, device=args.device, strategy="resize",
                    threads=args.threads, precision=args.precision, ensemble=args.ensemble)
    methods = {"rmnet": inp.run}
    if not args.no_baselines:
        methods.update({"telea": opencv_method("telea"), "ns": opencv_method("ns"),
                        "prefill": prefill_uint8})
    out = Path(args.output)
    result = evaluate(methods, images, size=args.size, buckets=buckets, seed=args.seed,
                      mask_files=_list(args.masks) if args.masks else None,
                      mask_polarity=args.mask_polarity, grid_path=out / "grid.png",
                      inception_weights=args.inception, masks_per_bucket=args.masks_per_bucket)
    save_result(result, out)
    print(result.markdown())
    print(result.delta_markdown("psnr_hole"))
    print(result.delta_markdown("ssim_hole"))
    print(f"wrote {out}/eval.json, eval.md, grid.png")
    return 0


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
            return _cmd_inpaint(args)
        if args.command == "eval":
            return _cmd_eval(args)
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
