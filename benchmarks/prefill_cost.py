"""What the pyramid prefill costs, and the default CPU path against TF-Keras, in one run.

    python benchmarks/prefill_cost.py --onnx M.onnx --int8 M_int8.onnx --keras M.keras \
        -o benchmarks/results/NAME [--pause-pid PID] [--rounds 12]

Model-only latency at 1x3x256x256 (ONNX Runtime, all cores; TF-Keras as a ``tf.function``),
interleaved rounds so that a shared machine's drift hits every row alike, medians reported:

- ``onnx-fp32``: the whole fp32 graph; ``onnx-int8``: the bundled CPU default (INT8);
- ``prefill-only``: the fp32 graph cut after the prefill (``onnx.utils.Extractor``), i.e. what
  the prefill adds to every inference;
- ``tf-keras``: the same weights in Keras (the paper-era reference).

Writes ``prefill_cost.json`` and ``prefill_cost.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rmnet_sdk.bench import PausedProcess, environment, make_inputs  # noqa: E402
from rmnet_sdk.prefill import is_prefill_node  # noqa: E402


def prefill_output(model) -> str:
    """The prefilled image: the input of the generator's ``with_mask`` Concat that comes from
    the prefill (the other one is the mask). tf2onnx names its own layout nodes outside the
    layer scopes, so the Concat is the reliable landmark."""
    producers = {out: node for node in model.graph.node for out in node.output}
    concat = [n for n in model.graph.node if n.op_type == "Concat" and "with_mask" in n.name]
    if len(concat) != 1:
        raise SystemExit(f"expected one with_mask Concat, found {[n.name for n in concat]}")
    ends = [name for name in concat[0].input
            if name in producers and is_prefill_node(producers[name].name)]
    if len(ends) != 1:
        raise SystemExit(f"expected one prefill output tensor, found {list(concat[0].input)}")
    return ends[0]


def ort_runner(model_bytes: bytes):
    from rmnet_sdk._ort import create_session

    session = create_session(model_bytes)
    return lambda feed: session.run(None, feed)


def keras_runner(path: str):
    from rmnet_sdk.backends.keras import compile_inference
    from rmnet_sdk.training.checkpoint import load_generator

    fn = compile_inference(load_generator(path))
    return lambda feed: np.asarray(fn(feed["image"].transpose(0, 2, 3, 1),
                                      feed["mask"].transpose(0, 2, 3, 1)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", required=True, help="fp32 ONNX of a prefill model")
    p.add_argument("--int8", help="its INT8 ONNX (the CPU default)")
    p.add_argument("--keras", help="the same weights as .keras (TF-Keras reference)")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--pause-pid", type=int, help="SIGSTOP this process while timing (training)")
    args = p.parse_args(argv)

    import onnx
    from onnx.utils import Extractor

    full = onnx.load(args.onnx)
    cut = Extractor(full).extract_model(["image", "mask"], [prefill_output(full)])
    runners = {"onnx-fp32": ort_runner(full.SerializeToString()),
               "prefill-only": ort_runner(cut.SerializeToString())}
    if args.int8:
        runners["onnx-int8"] = ort_runner(Path(args.int8).read_bytes())
    if args.keras:
        runners["tf-keras"] = keras_runner(args.keras)
    inputs = make_inputs((args.size, args.size), 1, seed=0)
    feed = {"image": inputs["x"], "mask": inputs["m"]}
    samples: dict[str, list[float]] = {k: [] for k in runners}
    with PausedProcess(args.pause_pid):
        for run in runners.values():  # warm-up
            run(feed)
            run(feed)
        for _ in range(args.rounds):
            for name, run in runners.items():
                t = time.perf_counter()
                run(feed)
                samples[name].append(time.perf_counter() - t)
    med = {k: float(np.median(v)) * 1e3 for k, v in samples.items()}
    report = {"size": args.size, "rounds": args.rounds, "median_ms": med,
              "samples_ms": {k: [s * 1e3 for s in v] for k, v in samples.items()},
              "prefill_share_of_fp32": med["prefill-only"] / med["onnx-fp32"],
              "environment": environment(with_tf=bool(args.keras))}
    if "onnx-int8" in med:
        report["prefill_share_of_int8"] = med["prefill-only"] / med["onnx-int8"]
    if "tf-keras" in med and "onnx-int8" in med:
        report["default_over_tf_keras"] = med["onnx-int8"] / med["tf-keras"]
        # per-round ratios: both rows of a round ran back to back, so machine drift cancels
        pairs = np.array(samples["onnx-int8"]) / np.array(samples["tf-keras"])
        report["default_over_tf_keras_per_round"] = {
            "median": float(np.median(pairs)), "p25": float(np.percentile(pairs, 25)),
            "p75": float(np.percentile(pairs, 75))}
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "prefill_cost.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [f"# Prefill cost and default CPU path vs TF-Keras ({args.size}², batch 1, "
             f"{args.rounds} interleaved rounds, medians)", "", "| path | ms |", "| --- | ---: |"]
    lines += [f"| {k} | {v:.1f} |" for k, v in med.items()]
    lines += ["", f"- prefill / fp32 inference: {report['prefill_share_of_fp32']:.1%}"]
    if "prefill_share_of_int8" in report:
        lines.append(f"- prefill / INT8 inference (the CPU default): {report['prefill_share_of_int8']:.1%}")
    if "default_over_tf_keras" in report:
        r = report["default_over_tf_keras_per_round"]
        lines.append(f"- INT8 default / TF-Keras, same weights: {report['default_over_tf_keras']:.2f} "
                     f"(ratio of medians); per round: median {r['median']:.2f}, "
                     f"IQR {r['p25']:.2f}-{r['p75']:.2f}")
    (out / "prefill_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
