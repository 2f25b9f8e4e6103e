"""The same model, losses and loop train on Keras's PyTorch backend (GPU machines without TF).

Keras picks its backend at import time, so this runs in a subprocess with KERAS_BACKEND=torch.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import json, sys
    from rmnet_sdk.training import preset
    from rmnet_sdk.training.train import Trainer
    data, run = sys.argv[1], sys.argv[2]
    out = {}
    for constraint in ("gp", "clip"):
        cfg = preset("tiny", data_dir=data, critic_constraint=constraint, l1_hole_weight=1.0)
        t = Trainer(cfg, f"{run}/{constraint}", resume=False)
        for _ in range(3):
            last = t.train_step(t.train_data.batch(t.step))
        t.save()
        expected = t.train_step(t.train_data.batch(t.step))
        again = Trainer(cfg, f"{run}/{constraint}")
        got = again.train_step(again.train_data.batch(again.step))
        out[constraint] = {"last": last, "expected": expected, "got": got,
                           "psnr_hole": t.validate()["val/psnr_hole"]}
    import keras
    out["backend"] = keras.backend.backend()
    print(json.dumps(out))
""")


def test_training_runs_on_the_torch_backend(tiny_image_dir: Path, tmp_path: Path) -> None:
    import json

    if importlib.util.find_spec("torch") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs the CPU build of PyTorch for this test (see .ci/run)")
        pytest.skip("PyTorch is not installed")
    env = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_image_dir), str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["backend"] == "torch"
    for constraint in ("gp", "clip"):
        r = out[constraint]
        assert all(v == v for v in r["last"].values())  # no NaN
        assert r["psnr_hole"] > 0
        for k, v in r["expected"].items():  # resume on torch is exact too
            assert r["got"][k] == pytest.approx(v, rel=1e-5, abs=1e-7), k
