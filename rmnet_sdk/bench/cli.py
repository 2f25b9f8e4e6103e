"""``rmnet bench`` (and ``benchmarks/bench.py``): its options and the command itself."""

from __future__ import annotations

from typing import Any

from .._argtypes import positive_int
from .cases import BenchConfig
from .report import markdown, write_report
from .runner import PausedProcess, run_benchmark


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        h, _, w = part.strip().lower().partition("x")
        sizes.append((int(h), int(w or h)))
    return sizes


def add_arguments(p: Any) -> None:
    """Options of ``rmnet bench`` (also used by ``benchmarks/bench.py``)."""
    p.add_argument("--model", help=".onnx model (default: the bundled model)")
    p.add_argument("--keras", help=".keras model for the TF-Keras reference rows")
    p.add_argument("--int8", help="an INT8 .onnx to benchmark beside fp32 (rmnet_sdk.export.quantize)")
    p.add_argument("--extra", action="append", default=[], metavar="LABEL=PATH",
                   help="more .onnx files to benchmark, e.g. fp16=model_fp16.onnx (repeatable)")
    p.add_argument("--backends", help="comma-separated (default: every available one)")
    p.add_argument("--sizes", default="256,512,1024,384x640", help="HxW list, e.g. 256,512,384x640")
    p.add_argument("--batches", default="1,4,16")
    p.add_argument("--max-pixels", type=int, default=1024 * 1024,
                   help="skip cases with N*H*W above this (batch 1 is always run)")
    p.add_argument("--modes", default="model,e2e")
    p.add_argument("--references", default="tf,telea,ns", help="tf, telea, ns (or 'none')")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iterations", type=int, default=10, help="at least this many calls per case")
    p.add_argument("--min-seconds", type=float, default=2.0, help="and at least this long per case")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="ONNX Runtime intra-op threads (default: one per physical core)")
    p.add_argument("--pause-pid", type=int, default=None,
                   help="SIGSTOP this process while timing (always SIGCONT afterwards)")
    p.add_argument("-o", "--output", default="rmnet-bench",
                   help="folder for bench.json, bench.md, bench.png")


def config_from_args(args: Any) -> BenchConfig:
    extra = dict(e.split("=", 1) for e in args.extra)
    if args.int8:
        extra["int8"] = args.int8
    refs = [] if args.references == "none" else args.references.split(",")
    return BenchConfig(model=args.model, keras_model=args.keras, extra_models=extra,
                       backends=args.backends.split(",") if args.backends else None,
                       sizes=_parse_sizes(args.sizes),
                       batches=[int(b) for b in args.batches.split(",")],
                       max_pixels=args.max_pixels, modes=args.modes.split(","),
                       references=refs, warmup=args.warmup, iterations=args.iterations,
                       min_seconds=args.min_seconds, rounds=args.rounds, threads=args.threads)


def main(args: Any) -> int:
    """``rmnet bench``: run, write the report, print the Markdown."""
    cfg = config_from_args(args)
    with PausedProcess(args.pause_pid):
        report = run_benchmark(cfg, log=lambda s: print(s, flush=True))
    paths = write_report(report, args.output)
    print(markdown(report))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
