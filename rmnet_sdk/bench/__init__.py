"""Benchmark harness: latency, throughput and per-stage time of every backend, with references.

::

    from rmnet_sdk.bench import BenchConfig, run_benchmark, write_report
    result = run_benchmark(BenchConfig(model="model.onnx", keras_model="model.keras"))
    write_report(result, "benchmarks/results/my-machine")   # bench.json, bench.md, bench.png

    rmnet bench --model model.onnx --keras model.keras -o benchmarks/results/my-machine

Vocabulary follows trtexec: throughput in images per second, latency min / mean / median / p90 /
p95 / p99 and the coefficient of variation, and a per-stage table (preprocess, host->device,
inference, device->host, composite). Two kinds of row:

- ``model``: ``backend.infer`` on ready NCHW tensors (TF: the ``tf.function`` of the Keras model
  on NHWC tensors) -- the network alone.
- ``e2e``: :meth:`Inpainter.run` on a uint8 image and a hole mask. Stages are measured by a
  :class:`TimingBackend` that wraps the Inpainter's backend, so nothing of the Inpainter is
  re-implemented here: preprocess = run start -> first ``infer``; inference = time inside
  ``infer``; composite = the rest. CPU backends have no host<->device copies (reported as absent);
  GPU backends include them in inference unless the backend reports them itself.

Every case is run in interleaved rounds (round 1 of all cases, then round 2, ...) so machine
noise hits all alike; statistics are over all timed iterations. References measured in the same
run: the TF-Keras model, OpenCV Telea and Navier-Stokes; the paper's 0.193 s is a constant.
Without ``--keras``, the TF-Keras reference is the benchmarked ONNX model itself mapped back to
Keras by the fine-tuning importer (:func:`keras_reference`), when TensorFlow is installed, so the
headline same-run ratio is one command.

One module per job: :mod:`.stats` (numbers), :mod:`.cases` (configuration, inputs, one case per
row), :mod:`.tf_reference` (the TF-Keras rows), :mod:`.runner` (timing and the report
dictionary), :mod:`.report` (schema, JSON, Markdown, plot) and :mod:`.cli` (``rmnet bench``).
This package re-exports their public names. TensorFlow, ``rmnet_sdk.training`` and
``rmnet_sdk.export`` are imported only when a Keras reference is requested.
"""

from __future__ import annotations

from ..machine import CPU_FEATURES, cpu_features
from .cases import BenchConfig, Case, TimingBackend, build_cases, make_inputs, plan_cases
from .cases import _report_path as _report_path
from .cli import add_arguments, config_from_args, main
from .report import REQUIRED_ROW_KEYS, SCHEMA_VERSION, markdown, plot, validate_report, write_report
from .runner import PausedProcess, environment, run_benchmark, run_cases
from .stats import (
    PAPER_SECONDS,
    STAGES,
    percentile,
    same_run_ratios,
    stage_times,
    summarize,
    summarize_stages,
)
from .tf_reference import TFFunctionBackend, keras_reference, tensorflow_missing

__all__ = [
    "CPU_FEATURES", "PAPER_SECONDS", "REQUIRED_ROW_KEYS", "SCHEMA_VERSION", "STAGES",
    "BenchConfig", "Case", "PausedProcess", "TFFunctionBackend", "TimingBackend",
    "add_arguments", "build_cases", "config_from_args", "cpu_features", "environment",
    "keras_reference", "main", "make_inputs", "markdown", "percentile", "plan_cases", "plot",
    "run_benchmark", "run_cases", "same_run_ratios", "stage_times", "summarize",
    "summarize_stages", "tensorflow_missing", "validate_report", "write_report",
]
