"""Flicker and hole-PSNR of video inpainting with and without ``--stability``.

Clips are made from the shared photos (never copied into the repo):

* ``static``: one photo, every frame with fresh Gaussian sensor noise (sigma ``--noise``);
* ``panning``: a window moving ``--pan`` pixels per frame across the photo, same noise;
* ``still``: the clean photo repeated (a still image: stability must not change it).

Each clip is inpainted once (``VideoInpainter``, crop strategy, the bundled model in the given
precision); the stabiliser then runs on those outputs exactly as ``VideoInpainter`` runs it.
Reported per clip kind, averaged over photos: ``metrics.flicker`` (hole / ring / ratio) and
hole-PSNR against the clean frames.

    nice -n 10 python benchmarks/video_stability.py -o benchmarks/results/cpu-2core-epyc-avx2/video
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import cv2
import numpy as np

from rmnet_sdk import Inpainter
from rmnet_sdk.imaging import list_images, read_image
from rmnet_sdk.metrics import flicker, psnr
from rmnet_sdk.video import VideoInpainter
from rmnet_sdk.video_stability import TemporalStabilizer

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"


def watermark_mask(h: int, w: int) -> np.ndarray:
    """A logo box plus a line of text strokes, ~6 % of the frame."""
    hole = np.zeros((h, w), np.uint8)
    hole[int(0.62 * h):int(0.82 * h), int(0.60 * w):int(0.90 * w)] = 1
    cv2.putText(hole, "SAMPLE", (int(0.06 * w), int(0.25 * h)), cv2.FONT_HERSHEY_SIMPLEX,
                w / 320, 1, max(2, w // 100))
    return hole.astype(bool)


def make_clips(photo: np.ndarray, size: tuple[int, int], frames: int, noise: float, pan: int,
               rng: np.random.Generator) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """``{kind: (clean frames, input frames)}``."""
    h, w = size
    scale = (w + pan * frames) / photo.shape[1]
    wide = cv2.resize(photo, (w + pan * frames, max(h, round(photo.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA)[:h]

    def noisy(f: np.ndarray) -> np.ndarray:
        return np.clip(f + rng.normal(0, noise, f.shape), 0, 255).astype(np.uint8)

    still = np.ascontiguousarray(wide[:, :w])
    pans = [np.ascontiguousarray(wide[:, i * pan:i * pan + w]) for i in range(frames)]
    return {"static": ([still] * frames, [noisy(still) for _ in range(frames)]),
            "panning": (pans, [noisy(f) for f in pans]),
            "still": ([still] * frames, [still.copy() for _ in range(frames)])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--photos", default=str(PHOTOS))
    ap.add_argument("--count", type=int, default=4, help="photos used")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", default="240x320", help="HxW")
    ap.add_argument("--noise", type=float, default=2.0)
    ap.add_argument("--pan", type=int, default=3)
    ap.add_argument("--precision", default="int8")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    files = list_images(args.photos)
    files = files[::max(1, len(files) // args.count)][:args.count]
    inp = Inpainter(precision=args.precision, backend="onnxruntime")
    hole = watermark_mask(h, w)
    rng = np.random.default_rng(0)
    rows: dict[str, dict[str, list[float]]] = {}
    for path in files:
        for kind, (clean, frames) in make_clips(read_image(path), (h, w), args.frames, args.noise,
                                                args.pan, rng).items():
            outs = list(VideoInpainter(inp, strategy="crop").run(frames, hole))
            stab = TemporalStabilizer()
            stable = []
            for f, o in zip(frames, outs, strict=True):
                o = o.copy()
                stab.apply(f, hole, o)
                stable.append(o)
            for name, seq in (("off", outs), ("on", stable)):
                fl = flicker(seq, hole)
                r = rows.setdefault(f"{kind}/{name}", {})
                for k, v in fl.items():
                    r.setdefault(f"flicker_{k}", []).append(v)
                r.setdefault("psnr_hole", []).append(
                    float(np.mean([psnr(c, o, hole) for c, o in zip(clean, seq, strict=True)])))
        print(f"done {path.name}", flush=True)
    summary = {k: {m: float(np.mean(v)) for m, v in r.items()} for k, r in rows.items()}
    result = {"settings": vars(args) | {"photos": [p.name for p in files],
                                        "hole_ratio": float(hole.mean()),
                                        "stabilizer": vars(TemporalStabilizer())},
              "machine": platform.processor() or platform.machine(),
              "model": str(inp.model_path.name), "summary": summary, "per_photo": rows}
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stability.json").write_text(json.dumps(result, indent=1, default=str))
    lines = ["| clip | stability | flicker hole | flicker ring | ratio | hole-PSNR (dB) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for key, s in summary.items():
        kind, name = key.split("/")
        lines.append(f"| {kind} | {name} | {s['flicker_hole']:.2f} | {s['flicker_ring']:.2f} | "
                     f"{s['flicker_ratio']:.3f} | {s['psnr_hole']:.2f} |")
    for kind in ("static", "panning", "still"):
        off, on = summary[f"{kind}/off"], summary[f"{kind}/on"]
        cut = (f"{off['flicker_hole'] / on['flicker_hole']:.2f}x" if on["flicker_hole"] > 0
               else "n/a (no flicker)")
        lines.append(f"\n{kind}: flicker cut {cut}, "
                     f"hole-PSNR {on['psnr_hole'] - off['psnr_hole']:+.3f} dB")
    text = "\n".join(lines)
    (out / "stability.md").write_text(
        f"# Temporal stability ({args.frames} frames {w}x{h}, {len(files)} photos, noise sigma "
        f"{args.noise}, pan {args.pan} px/frame, model {inp.model_path.name})\n\n{text}\n")
    print(text)


if __name__ == "__main__":
    main()
