"""INT8 variants of an fp32 ONNX model: quantise, time (256² b1, interleaved) and gate quality.

    python benchmarks/int8.py --model model.onnx -o runs/int8 [--photos DIR] [--pause-pid PID] [--variants ...]

For every variant of :class:`rmnet_sdk.export.quantize.QuantOptions` named below, the model is
quantised (calibration split of --photos: default $RMNET_PHOTOS_DIR, else the development
corpus ../shared/data/photos), timed against the fp32 model with ONNX Runtime (model-only,
interleaved rounds, medians), optionally profiled per op type (``enable_profiling``), and
gated: hole-PSNR drop vs fp32 on the dev split must be <= 0.3 dB in every hole-ratio bucket.
Writes ``int8.json`` and ``int8.md`` into the output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rmnet_sdk.bench import PausedProcess, make_inputs, summarize  # noqa: E402
from rmnet_sdk.export.quantize import QuantOptions, quality_gates, quantize_int8  # noqa: E402

#: The development photo corpus beside the checkout (read there, never copied in).
PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"

VARIANTS = {
    # default (QuantOptions()): QDQ, u8 activations, s8 per-channel weights, MinMax calibration,
    # Conv only, first conv and tanh head kept in fp32
    "default": QuantOptions(),
    "int8-first": QuantOptions(exclude_first=False),
    "int8-first-int8-head": QuantOptions(exclude_first=False, exclude_head=False),
    "percentile": QuantOptions(calibrate_method="Percentile"),
    "reduce-range": QuantOptions(reduce_range=True),
    "per-tensor": QuantOptions(per_channel=False),
    "s8s8": QuantOptions(activation_type="int8"),
    "u8u8": QuantOptions(weight_type="uint8"),
    "qoperator": QuantOptions(quant_format="QOperator"),
    "all-ops": QuantOptions(op_types=None),
    "int8-head": QuantOptions(exclude_head=False),
    "conv-maxpool": QuantOptions(op_types=("Conv", "MaxPool")),
    "conv-leakyrelu": QuantOptions(op_types=("Conv", "LeakyRelu")),
    "conv-maxpool-leakyrelu": QuantOptions(op_types=("Conv", "MaxPool", "LeakyRelu")),
    "conv-resize": QuantOptions(op_types=("Conv", "Resize")),
}


def session(path: Path, threads: int | None, profile: str | None = None):
    from rmnet_sdk._ort import create_session

    return create_session(path, threads=threads, profile_prefix=profile)


def op_profile(path: Path, feeds: dict, runs: int, threads: int | None, prefix: str) -> dict:
    """Per-op-type share of kernel time from ORT's profiler (``runs`` calls after one warm-up)."""
    s = session(path, threads, profile=prefix)
    s.run(None, feeds)
    for _ in range(runs):
        s.run(None, feeds)
    trace = json.loads(Path(s.end_profiling()).read_text())
    per: dict[str, float] = {}
    for ev in trace:
        if ev.get("cat") == "Node" and ev.get("name", "").endswith("_kernel_time"):
            op = ev.get("args", {}).get("op_name", "?")
            per[op] = per.get(op, 0.0) + ev["dur"] / 1e3 / (runs + 1)
    total = sum(per.values()) or 1.0
    return {op: {"ms_per_call": round(ms, 2), "share": round(ms / total, 3)}
            for op, ms in sorted(per.items(), key=lambda kv: -kv[1])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fp32 .onnx")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--photos", default=os.environ.get("RMNET_PHOTOS_DIR") or str(PHOTOS),
                   help="calibration and gate photos (default: $RMNET_PHOTOS_DIR, else %(default)s)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--per-round", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--pause-pid", type=int, default=None, help="SIGSTOP while timing")
    p.add_argument("--no-gate", action="store_true")
    p.add_argument("--gate", help="comma-separated variants to gate (default: all)")
    p.add_argument("--gate-images", type=int, default=None, help="at most this many dev images")
    p.add_argument("--profile", action="store_true", help="ORT per-op profile of fp32 and INT8")
    args = p.parse_args()

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    fp32 = Path(args.model)
    names = args.variants.split(",")
    paths = {"fp32": fp32}
    for n in names:
        path = out / f"{fp32.stem}-{n}.onnx"
        if not path.exists():
            t = time.perf_counter()
            quantize_int8(fp32, path, options=VARIANTS[n], photos=args.photos)
            print(f"quantised {n} in {time.perf_counter() - t:.0f} s", flush=True)
        paths[n] = path
    d = make_inputs((args.size, args.size), 1, seed=0)
    feeds = {"image": d["x"], "mask": d["m"]}
    sessions = {k: session(v, args.threads) for k, v in paths.items()}
    times: dict[str, list[float]] = {k: [] for k in sessions}
    prof = {}
    with PausedProcess(args.pause_pid):
        for s in sessions.values():
            for _ in range(2):
                s.run(None, feeds)
        for _ in range(args.rounds):
            for k, s in sessions.items():
                for _ in range(args.per_round):
                    t = time.perf_counter()
                    s.run(None, feeds)
                    times[k].append(time.perf_counter() - t)
        if args.profile:
            best = min(names, key=lambda n: np.median(times[n]))
            for k in ("fp32", best):
                prof[k] = op_profile(paths[k], feeds, 5, args.threads, str(out / f"profile-{k}"))
    stats = {k: summarize(v) for k, v in times.items()}
    for k, st in stats.items():
        print(f"{k}: median {st['median_ms']:.1f} ms, min {st['min_ms']:.1f} ms", flush=True)
    result: dict = {"model": str(fp32), "size": args.size, "latency": stats, "profile": prof,
                    "variants": {n: VARIANTS[n].label() for n in names}, "gate": {}}
    if not args.no_gate:
        gated = args.gate.split(",") if args.gate else names
        t = time.perf_counter()
        gates = quality_gates(fp32, {n: paths[n] for n in gated}, photos=args.photos,
                              max_images=args.gate_images, threads=args.threads)
        for n, g in gates.items():
            result["gate"][n] = {k: v for k, v in g.to_dict().items() if k != "table"}
            print(f"gate {n}: max drop {g.max_drop:+.3f} dB -> {'PASS' if g.passed else 'FAIL'}",
                  flush=True)
        print(f"gates took {time.perf_counter() - t:.0f} s", flush=True)
    (out / "int8.json").write_text(json.dumps(result, indent=2) + "\n")
    fp = stats["fp32"]["median_ms"]
    lines = [f"# INT8 variants of {fp32.name} ({args.size}x{args.size}, batch 1, ORT CPU)", "",
             f"{args.rounds} interleaved rounds x {args.per_round} calls; median (min) ms.", "",
             "| variant | median ms | min ms | vs fp32 | hole-PSNR fp32 (all) | INT8 (all) | worst bucket drop dB | gate |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for k in paths:
        g = result["gate"].get(k)
        gate = ("PASS" if g["passed"] else "FAIL") if g else "-"
        cells = (f"{g['fp32']['all']:.2f} | {g['candidate']['all']:.2f} | {g['max_drop']:+.3f}"
                 if g else "- | - | -")
        lines.append(f"| {k} | {stats[k]['median_ms']:.1f} | {stats[k]['min_ms']:.1f} | "
                     f"{stats[k]['median_ms'] / fp:.2f} | {cells} | {gate} |")
    for k, ops in prof.items():
        lines += ["", f"## ORT profile: {k} (ms per call by op type, share of kernel time)", "",
                  "| op | ms | share |", "| --- | ---: | ---: |"]
        lines += [f"| {op} | {v['ms_per_call']:.1f} | {v['share']:.0%} |" for op, v in list(ops.items())[:12]]
    (out / "int8.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
