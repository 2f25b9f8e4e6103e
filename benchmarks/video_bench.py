"""Video inpainting speed, end to end and per stage, on the CPU INT8 path.

Clips (made here from a shared photo, written to a temporary folder, never into the repo): a
slow pan across the photo at 720p and 1080p, encoded with ``mp4v``. Masks: a static watermark
(a box of about 2 % of the frame, bottom right, prepared once) and a moving object (an ellipse
of about 3 % crossing the frame, one mask per frame). Each case decodes with
``cv2.VideoCapture``, inpaints with ``VideoInpainter`` (crop strategy) and encodes with
``cv2.VideoWriter`` (``mp4v``), timing each stage:

* decode: ``VideoCapture.read``; encode: ``VideoWriter.write``;
* preprocess (crop, resize, model-range tensors), inference (``backend.infer``), composite
  (upsample, paste into the hole), stability (off here): ``VideoInpainter.times``;
* other: the rest of the loop (frame copies, mask handling, Python).

"outside inference" = end to end - inference; the target is <= 35 % of end to end for
the static mask at 1080p.

    nice -n 10 python benchmarks/video_bench.py -o benchmarks/results/cpu-2core-epyc-avx2/video
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from rmnet_sdk import Inpainter
from rmnet_sdk.imaging import list_images, read_image
from rmnet_sdk.video import VideoInpainter

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"
SIZES = {"720p": (720, 1280), "1080p": (1080, 1920)}


def make_clip(photo: np.ndarray, size: tuple[int, int], frames: int, fps: float,
              path: Path) -> Path:
    """A pan of 2 px per frame across ``photo`` scaled to cover the frame (BGR, mp4v)."""
    h, w = size
    pan = 2
    scale = max(h / photo.shape[0], (w + pan * frames) / photo.shape[1])
    big = cv2.resize(photo[:, :, ::-1], (round(photo.shape[1] * scale) + 1,
                                         round(photo.shape[0] * scale) + 1),
                     interpolation=cv2.INTER_CUBIC)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(frames):
        writer.write(np.ascontiguousarray(big[:h, i * pan:i * pan + w]))
    writer.release()
    return path


def watermark(size: tuple[int, int]) -> np.ndarray:
    """A 20 % x 10 % box (2 % of the frame) near the bottom-right corner."""
    h, w = size
    hole = np.zeros((h, w), bool)
    y0, x0 = int(0.85 * h), int(0.76 * w)
    hole[y0:y0 + h // 10, x0:x0 + w // 5] = True
    return hole


def moving_object(size: tuple[int, int], frames: int):
    """One mask per frame: an ellipse (~3 % of the frame) crossing from left to right."""
    h, w = size
    for i in range(frames):
        hole = np.zeros((h, w), np.uint8)
        cx = int(0.15 * w + 0.7 * w * i / max(frames - 1, 1))
        cv2.ellipse(hole, (cx, h // 2), (w // 16, h // 7), 0, 0, 360, 1, -1)
        yield hole.astype(bool)


def run_case(inp: Inpainter, clip: Path, mask, out: Path, batch_size: int) -> dict[str, float]:
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    times = {"decode": 0.0, "encode": 0.0}

    def frames():
        while True:
            t0 = time.perf_counter()
            ok, frame = cap.read()
            times["decode"] += time.perf_counter() - t0
            if not ok:
                return
            yield frame

    video = VideoInpainter(inp, strategy="crop", batch_size=batch_size)
    start = time.perf_counter()
    n = 0
    for frame in video.run(frames(), mask, color="bgr"):
        t0 = time.perf_counter()
        writer.write(frame)
        times["encode"] += time.perf_counter() - t0
        n += 1
    total = time.perf_counter() - start
    writer.release()
    cap.release()
    stages = {**times, **video.times.as_dict()}
    stages["other"] = total - sum(stages.values())
    per_frame = {k: 1000 * v / n for k, v in stages.items()}
    return {"frames": n, "fps": n / total, "ms_per_frame": 1000 * total / n,
            "stage_ms": per_frame,
            "outside_inference_share": 1 - stages["inference"] / total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--photos", default=str(PHOTOS))
    ap.add_argument("--frames", type=int, default=50, help="frames per clip (2 s at 25 fps)")
    ap.add_argument("--sizes", default="720p,1080p")
    ap.add_argument("--precision", default="int8")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    photo = read_image(list_images(args.photos)[7])
    inp = Inpainter(precision=args.precision, backend="onnxruntime")
    results = []
    with tempfile.TemporaryDirectory(prefix="rmnet-video-bench-") as tmp:
        for name in args.sizes.split(","):
            size = SIZES[name]
            clip = make_clip(photo, size, args.frames, 25.0, Path(tmp) / f"{name}.mp4")
            cases = [("static watermark", watermark(size), 1),
                     ("static watermark, batch 4", watermark(size), 4),
                     ("moving object", moving_object(size, args.frames), 1)]
            for label, mask, batch in cases:
                r = run_case(inp, clip, mask, Path(tmp) / "out.mp4", batch)
                r.update(size=name, mask=label, batch=batch)
                results.append(r)
                print(f"{name} {label}: {r['fps']:.2f} fps, outside inference "
                      f"{100 * r['outside_inference_share']:.1f} %", flush=True)
    env = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
           "model": inp.model_path.name, "backend": inp.backend.name, "frames": args.frames,
           "load": "shared machine: a training run and other jobs were using the 2 cores; "
                   "run with nice -n 10",
           "loadavg_at_end": os.getloadavg()}
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps({"env": env, "results": results}, indent=1))
    stages = ["decode", "preprocess", "inference", "composite", "encode", "other"]
    lines = ["| size | mask | batch | fps | ms/frame | " + " | ".join(stages)
             + " | outside inference |",
             "| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in stages) + " | --- |"]
    for r in results:
        lines.append(f"| {r['size']} | {r['mask']} | {r['batch']} | {r['fps']:.2f} | "
                     f"{r['ms_per_frame']:.1f} | "
                     + " | ".join(f"{r['stage_ms'][s]:.1f}" for s in stages)
                     + f" | {100 * r['outside_inference_share']:.1f} % |")
    text = "\n".join(lines)
    (out / "bench.md").write_text(
        f"# Video inpainting, CPU ({env['model']}, {env['backend']}, {args.frames} frames per "
        f"clip, mp4v in and out)\n\nStage times in ms per frame. {env['load']}; load average at "
        f"the end {env['loadavg_at_end'][0]:.1f}.\n\n{text}\n")
    print(text)


if __name__ == "__main__":
    main()
