"""The runtime package must import without TensorFlow (training/export load it lazily)."""

import subprocess
import sys


def test_import_rmnet_sdk_does_not_import_tensorflow() -> None:
    code = (
        "import sys, rmnet_sdk, rmnet_sdk.masks, rmnet_sdk.metrics, rmnet_sdk.imaging, "
        "rmnet_sdk.training; "
        "bad = [m for m in ('tensorflow', 'keras', 'tf2onnx') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
