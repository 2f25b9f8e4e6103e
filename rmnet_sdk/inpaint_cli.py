"""``rmnet inpaint``: one image, or a folder of images paired with masks by relative path.

Folder runs never stop at one bad file: unreadable, oversized, unwritable or unpaired inputs are
recorded and reported at the end (exit code 1), existing outputs are kept unless
``--overwrite``, and Ctrl-C or SIGTERM end with a summary and no half-written file.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

import numpy as np

from ._argtypes import positive_int
from ._fileio import same_file
from ._signals import Terminated
from .errors import InvalidInputError, RMNetError
from .imaging import list_images, read_image, write_image
from .inpainter import ORIGINAL_MAX_PIXELS, EmptyMaskWarning

log = logging.getLogger("rmnet_sdk")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``rmnet inpaint``'s own options (the model options are added by ``rmnet_sdk.cli``)."""
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
        if p is not None and p.exists() and out.exists() and same_file(out, p):
            raise InvalidInputError(f"output {out} is an input file: refusing to overwrite it")
    for other in others:
        if same_file(out, other):
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
    except Terminated:
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


def main(args: argparse.Namespace) -> int:
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
                          ensemble=args.ensemble, max_original_pixels=args.max_original_pixels)
    log.info("%r", inpainter)
    return _inpaint_folder(args, inpainter) if folder_mode else _inpaint_single(args, inpainter)
