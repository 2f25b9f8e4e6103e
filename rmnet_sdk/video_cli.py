"""``rmnet video``: inpaint a video file or a folder of frames.

    rmnet video clip.mp4 --mask watermark.png -o clean.mp4            # one mask for every frame
    rmnet video clip.mkv --mask masks/ -o clean.mkv                   # per-frame masks (folder)
    rmnet video frames/ --mask mask.png -o out_frames/ --fps 30       # PNG frames in and out
    rmnet video clip.mp4 --mask watermark.png -o clean.mp4 --stability
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ._fileio import same_file
from .errors import InvalidInputError

log = logging.getLogger("rmnet_sdk")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="video file (.mp4 .avi .mkv .mov ...) or folder of image frames")
    p.add_argument("-o", "--output", required=True,
                   help="video file (the suffix picks the container) or a folder (PNG frames, "
                        "lossless)")
    p.add_argument("--mask", required=True,
                   help="mask image for every frame (white = hole), or a folder / video of "
                        "per-frame masks")
    p.add_argument("--mask-polarity", default="white-hole", choices=["white-hole", "black-hole"])
    p.add_argument("--resize-mask", action="store_true",
                   help="resize masks to the frame size (holes never shrink) instead of failing")
    p.add_argument("--stability", action="store_true",
                   help="blend each hole's fill with the previous frames' where the known pixels "
                        "around it did not change (less flicker; reset on scene cuts)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="frames per inference call (default: 4; 1 for the lowest latency)")
    p.add_argument("--fourcc", default=None,
                   help="video encoder FourCC, e.g. mp4v, MJPG, FFV1 (default: the best one this "
                        "OpenCV build has for the container; a fallback is reported)")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate (default: the input video's; 25 for a folder of frames)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")


def main(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from . import masks as masklib
    from .inpainter import Inpainter
    from .video import VideoInpainter
    from .video_io import FrameSink, is_video_path, mask_sequence, open_frames

    src_path, out, mask_path = Path(args.input), Path(args.output), Path(args.mask)
    for p in (src_path, mask_path):
        if out.exists() and p.exists() and same_file(out, p):
            raise InvalidInputError(f"output {out} is an input: refusing to overwrite it")
    if not mask_path.exists():
        raise InvalidInputError(f"mask not found: {mask_path}")
    if out.exists() and not args.overwrite and (out.is_file() or any(out.glob("frame_*.png"))):
        raise InvalidInputError(f"{out} exists (use --overwrite to replace it)")
    if args.fps is not None and not args.fps > 0:
        raise InvalidInputError(f"--fps must be positive, got {args.fps}")
    source = open_frames(src_path, fps=args.fps)
    if mask_path.is_dir() or is_video_path(mask_path):
        mask = mask_sequence(mask_path, polarity=args.mask_polarity)
        mask_kind = "per-frame masks"
    else:
        mask = masklib.read_mask(mask_path, polarity=args.mask_polarity)
        mask_kind = "static mask"
    inpainter = Inpainter(args.model, backend=args.backend, device=args.device,
                          strategy=args.strategy, threads=args.threads, precision=args.precision,
                          ensemble=args.ensemble)
    video = VideoInpainter(inpainter, strategy=args.strategy, batch_size=args.batch_size,
                           stability=args.stability, resize_mask=args.resize_mask)
    log.info("%r, %s, batch %d", inpainter, mask_kind, video.batch_size)
    start = time.perf_counter()
    with FrameSink(out, source.fps, source.size, fourcc=args.fourcc,
                   overwrite=args.overwrite) as sink:
        bar = tqdm(video.run(source, mask, color=source.color), total=source.count,
                   desc="inpainting", unit="frame", dynamic_ncols=True)
        for frame in bar:
            sink.write(frame, source.color)
    elapsed = time.perf_counter() - start
    h, w = source.size
    print(f"wrote {sink.frames} frame(s) to {out} ({w}x{h}, {source.fps:g} fps, "
          f"codec {sink.codec}, {mask_kind}{', stability' if args.stability else ''}) "
          f"at {sink.frames / max(elapsed, 1e-9):.1f} frames/s", file=sys.stdout)
    return 0
