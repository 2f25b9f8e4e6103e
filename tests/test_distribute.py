"""Distributed training (tf.distribute) on the CPU: data shards, strategy setup, a 2-replica
MirroredStrategy against one device, and a 2-worker MultiWorkerMirroredStrategy run on
127.0.0.1 whose checkpoint resumes in a 1-worker run.

Strategies need TensorFlow configured before it starts (logical devices, TF_CONFIG), so the
training runs are subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from rmnet_sdk.errors import InvalidInputError  # noqa: E402

HERE = Path(__file__).resolve().parent


def _tiny(data_dir: Path, **overrides):
    from rmnet_sdk.training import preset

    return preset("tiny", data_dir=str(data_dir), **overrides)


def test_worker_shards_concatenate_to_the_global_batch(tiny_image_dir):
    from rmnet_sdk.training.data import build_datasets
    from rmnet_sdk.training.distribute import Distribution, worker_shard

    cfg = _tiny(tiny_image_dir, batch_size=4)
    data, _, _ = build_datasets(cfg)
    whole = data.batch(7)
    shards = [worker_shard(data, cfg, Distribution("multi-worker", None, w, 2)).batch(7)
              for w in range(2)]
    assert [s.images.shape[0] for s in shards] == [2, 2]
    for field in ("images", "holes", "noise"):
        np.testing.assert_array_equal(np.concatenate([getattr(s, field) for s in shards]),
                                      getattr(whole, field))
    assert data.batch(7).images.shape[0] == 4  # the source itself is untouched


def test_worker_rank_from_tf_config():
    from rmnet_sdk.training.distribute import _worker_rank

    cluster = {"worker": ["h1:1", "h2:1", "h3:1"]}
    assert _worker_rank({"cluster": cluster, "task": {"type": "worker", "index": 2}}) == (2, 3)
    with_chief = {"chief": ["h0:1"], **cluster}
    assert _worker_rank({"cluster": with_chief, "task": {"type": "chief", "index": 0}}) == (0, 4)
    assert _worker_rank({"cluster": with_chief, "task": {"type": "worker", "index": 0}}) == (1, 4)
    with pytest.raises(InvalidInputError, match="not a chief or worker"):
        _worker_rank({"cluster": cluster, "task": {"type": "ps", "index": 0}})


def test_strategy_errors_are_typed(monkeypatch, tiny_image_dir, tmp_path):
    from rmnet_sdk.training.distribute import DistributedTrainer, Distribution, make_distribution

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(InvalidInputError, match="needs TF_CONFIG"):
        make_distribution("multi-worker")
    with pytest.raises(InvalidInputError, match="must be one of"):
        make_distribution("horovod")

    class ThreeReplicas:
        num_replicas_in_sync = 3

    with pytest.raises(InvalidInputError, match="divisible by the 3 replicas"):
        DistributedTrainer(_tiny(tiny_image_dir, batch_size=4), tmp_path,
                           distribution=Distribution("mirrored", ThreeReplicas()))


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 300):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


def test_mirrored_two_cpus_follow_the_single_device_trajectory(tiny_image_dir, tmp_path):
    """Same initial weights and batches (tiny preset, GP critic, EMA; dropout off, since its
    masks are random per replica). Step 0 is the same computation split in two (sync BatchNorm,
    halves of the batch), so it agrees to float rounding (measured 3e-6; tolerance rel 1e-4).
    Later steps differ by float summation order amplified by the GAN: measured <= 0.21 % over
    4 steps; tolerance 2 %. The
    hole-/valid-normalised L1 terms are logged per replica and averaged (a mean of ratios), so
    they are not compared. Loss scaling is checked directly on gradients (Adam would hide a
    wrong scale): sum over 2 replicas of the weighted gradients == one device's."""
    out = tmp_path / "trajectory.json"
    r = _run([sys.executable, str(HERE / "distributed_run.py"), "trajectory",
              str(tiny_image_dir), str(tmp_path / "runs"), "4", str(out)])
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["mirrored"]["replicas"] == 2
    single, mirrored = result["none"]["losses"], result["mirrored"]["losses"]
    compared = ("g_total", "g_perceptual", "g_reverse_mask", "d_total", "d_gradient_penalty")
    for key in compared:
        assert mirrored[0][key] == pytest.approx(single[0][key], rel=1e-4), key
        for step in range(1, 4):
            assert mirrored[step][key] == pytest.approx(single[step][key], rel=2e-2), (key, step)
    grads = result["gradients"]
    assert grads["max_diff"] <= 1e-5 * max(1.0, grads["max_grad"]), grads


def _free_ports(n: int) -> list[int]:
    from rmnet_sdk.serving.process import free_loopback_ports

    return free_loopback_ports(n)


def test_two_workers_train_then_one_worker_resumes(tiny_image_dir, tmp_path):
    """Two rmnet-train processes on 127.0.0.1 ports (TF_CONFIG) train 3 steps in lockstep (equal
    weights checksums), only the chief writes; the checkpoint then resumes on one worker."""
    run = tmp_path / "run"
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    cmd = [sys.executable, "-m", "rmnet_sdk.training.cli", "--data", str(tiny_image_dir),
           "--run-dir", str(run), "--preset", "tiny", "--steps", "3", "--no-progress",
           "--distribute", "multi-worker"]
    procs = []
    try:
        for index in range(2):
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            procs.append(subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": json.dumps(tf_config)}))
        logs = [p.communicate(timeout=300)[1] for p in procs]
    finally:
        for p in procs:  # a worker whose peer died waits forever: never leave one behind
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
    sums = [re.search(r"worker (\d)/2 finished at step 3, weights checksum (\S+)", log)
            for log in logs]
    assert all(sums), [log[-1500:] for log in logs]
    assert sums[0].group(2) == sums[1].group(2)  # identical weights on both workers
    assert "distributed training, multi-worker: 2 replica(s) on 2 worker(s)" in logs[0]
    assert sorted(p.name for p in (run / "checkpoints").glob("ckpt-*")) == ["ckpt-00000003.npz"]
    metric_steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metric_steps == sorted(set(metric_steps))  # written once (by the chief), not twice

    r = _run([sys.executable, "-m", "rmnet_sdk.training.cli", "--run-dir", str(run),
              "--steps", "5", "--no-progress"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resumed from" in r.stderr and "at step 3" in r.stderr
    assert (run / "checkpoints" / "ckpt-00000005.npz").is_file()
