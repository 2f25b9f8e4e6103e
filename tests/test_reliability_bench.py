"""``rmnet bench`` first use: TF-Keras reference rows without --keras, CPU features in the
report, and a word when bench.png cannot be drawn (issue 17)."""

from __future__ import annotations

import builtins
import importlib.util
import logging

import numpy as np
import pytest

from rmnet_sdk import bench


def test_cpu_features_from_flags() -> None:
    assert bench.cpu_features({"avx", "avx2", "fma"}) == {
        "AVX2": True, "AVX-512": False, "VNNI": False, "BF16": False, "AMX": False}
    sapphire = bench.cpu_features({"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"})
    assert all(sapphire.values())
    assert bench.cpu_features({"avx2", "avx_vnni"})["VNNI"]  # Alder Lake: VNNI without AVX-512


def _report(features: dict[str, bool] | None) -> dict:
    cpu = {"model": "test"} | ({"features": features} if features is not None else {})
    cfg = bench.BenchConfig(model="x.onnx")
    return {"schema": bench.SCHEMA_VERSION, "created": "now", "config": cfg.to_dict(),
            "models": {}, "environment": {"cpu": cpu}, "paper_seconds": bench.PAPER_SECONDS,
            "rows": [], "ratios": {"model": [], "e2e": []}}


def test_report_names_cpu_features() -> None:
    md = bench.markdown(_report({"AVX2": True, "AVX-512": False, "VNNI": False, "BF16": False,
                                 "AMX": False}))
    assert "- CPU features: AVX2 yes, AVX-512 no, VNNI no, BF16 no, AMX no" in md
    assert "CPU features: unknown" in bench.markdown(_report(None))


def test_missing_matplotlib_is_reported(tmp_path, monkeypatch, caplog) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with caplog.at_level(logging.WARNING, logger="rmnet_sdk"):
        paths = bench.write_report(_report(None), tmp_path)
    assert "png" not in paths and not (tmp_path / "bench.png").exists()
    assert "matplotlib is not installed" in caplog.text


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                    reason="the TF-Keras reference needs TensorFlow")
def test_bundled_model_gets_tf_rows_without_keras_flag() -> None:
    cfg = bench.BenchConfig(sizes=[(64, 64)], batches=[1], backends=["onnxruntime"],
                            references=("tf",), modes=("model", "e2e"))
    cases, loaded = bench.build_cases(cfg, log=lambda s: None)
    tf = {c.mode: c for c in cases if c.name == "tf-keras"}
    assert set(tf) == {"model", "e2e"} and all(c.reference for c in tf.values())
    assert "imported into Keras" in loaded["models"]["tf-keras"]
    ort = next(c for c in cases if c.name == "onnxruntime" and c.precision == "fp32"
               and c.mode == "e2e")
    # the same network: the e2e outputs of ONNX Runtime and of its Keras twin agree
    diff = np.abs(tf["e2e"].fn().astype(int) - ort.fn().astype(int))
    assert diff.max() <= 1


def test_no_tf_rows_is_said(monkeypatch) -> None:
    monkeypatch.setattr(bench.tf_reference, "tensorflow_missing",
                        lambda: "tensorflow is not installed")
    said: list[str] = []
    cfg = bench.BenchConfig(sizes=[(32, 32)], batches=[1], backends=["onnxruntime"],
                            references=("tf",), modes=("model",))
    cases, _ = bench.build_cases(cfg, log=said.append)
    assert not any(c.name == "tf-keras" for c in cases)
    assert any("no TF-Keras reference rows: tensorflow is not installed" in s for s in said)


def test_bench_runs_without_arguments() -> None:
    from rmnet_sdk.cli import build_parser

    args = build_parser().parse_args(["bench"])
    cfg = bench.config_from_args(args)
    assert args.output == "rmnet-bench" and cfg.model is None and cfg.keras_model is None
    assert "tf" in cfg.references  # the TF-Keras rows are on by default
