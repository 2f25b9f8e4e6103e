"""tests/gpu/device_check.sh without a GPU: a clean skip that says why (its --dry-run compiles for a
GPU architecture and is run by hand or on the device machine; see README "GPU checks")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "gpu" / "device_check.sh"


def test_device_check_skips_cleanly_without_a_gpu(tmp_path: Path) -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("nvidia-smi is present: run tests/gpu/device_check.sh itself")
    run = subprocess.run(["bash", str(SCRIPT), "--out", str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SKIP: no CUDA GPU found" in run.stdout
    assert (tmp_path / "summary.txt").read_text().startswith("SKIP: no CUDA GPU found")
    assert not (tmp_path / "build").exists()  # nothing built


def test_device_check_rejects_unknown_arguments() -> None:
    run = subprocess.run(["bash", str(SCRIPT), "--bogus"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and "unknown argument --bogus" in run.stderr
