"""Layering: the runtime never loads the build toolchain, and every module imports on its own.

Each check runs in a fresh interpreter (``python -c``): in the pytest process other tests have
already imported TensorFlow, export and training, so ``sys.modules`` here proves nothing.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import rmnet_sdk

#: Module name prefixes that belong to the toolchain (export, training, and what they pull in).
TOOLCHAIN_PREFIXES = ("rmnet_sdk.export", "rmnet_sdk.training", "tensorflow", "tf2onnx", "keras")

_INFER_AND_LIST_MODULES = """
import json, sys
import numpy as np
import rmnet_sdk
inp = rmnet_sdk.Inpainter({model}, backend={backend!r})
rng = np.random.default_rng(0)
image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
mask = np.zeros((48, 64), dtype=np.uint8)
mask[16:32, 20:44] = 255
out = inp.run(image, mask)
assert out.shape == image.shape and out.dtype == np.uint8, (out.shape, out.dtype)
print(json.dumps(sorted(sys.modules)))
"""


def _python(code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=Path(rmnet_sdk.__file__).resolve().parents[1])


def _toolchain_modules_after_inference(backend: str, model: str) -> list[str]:
    proc = _python(_INFER_AND_LIST_MODULES.format(backend=backend, model=model))
    assert proc.returncode == 0, proc.stderr[-4000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    return [m for m in loaded
            if any(m == p or m.startswith(p + ".") for p in TOOLCHAIN_PREFIXES)]


def test_onnxruntime_inference_loads_no_toolchain():
    loaded = _toolchain_modules_after_inference("onnxruntime", 'precision="fp32"')
    assert loaded == []


def test_native_inference_loads_no_toolchain(tmp_path):
    """The native runtime's CPU path is OpenCV DNN, whose ONNX importer (4.6) cannot parse the
    bundled model's prefill graph, so this runs the tiny R-MNet-shaped model the C++ tests use:
    the modules the Python side loads around the runtime do not depend on the model."""
    from conftest import tiny_onnx_module

    from rmnet_sdk.backends import available_backends

    why = available_backends().get("native")
    if why is not None:
        pytest.skip(f"native backend unavailable: {why}")
    from rmnet_sdk import _native

    if not _native.WITH_OPENCV:
        pytest.skip("rmnet_sdk._native was built without OpenCV (no CPU backend)")
    tiny = tiny_onnx_module()
    model = tiny.build(tmp_path / "tiny.onnx")
    assert _toolchain_modules_after_inference("native", f"model={str(model)!r}") == []


def test_keras_inference_loads_no_export_or_training(tmp_path):
    """The ``keras`` backend runs a ``.keras`` generator with Keras as its engine (TensorFlow and
    Keras load, as they must), but reading the file needs neither the export nor the training
    code. The generator has the prefill layers, so their registration is exercised too."""
    pytest.importorskip("tensorflow")
    import keras

    from rmnet_sdk.metadata import ModelMetadata
    from rmnet_sdk.training.checkpoint import save_generator
    from rmnet_sdk.training.model import build_generator

    keras.utils.set_random_seed(0)
    path = save_generator(build_generator(4, mask_channel=True, prefill=True),
                          tmp_path / "tiny.keras",
                          ModelMetadata(resolution=64, gf=4, mask_channel=True))
    proc = _python(_INFER_AND_LIST_MODULES.format(backend="keras", model=repr(str(path))))
    assert proc.returncode == 0, proc.stderr[-4000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "keras" in loaded  # the backend really ran on Keras
    assert [m for m in loaded if any(m == p or m.startswith(p + ".") for p in
                                     ("rmnet_sdk.export", "rmnet_sdk.training", "tf2onnx"))] == []


def _all_module_names() -> list[str]:
    root = Path(rmnet_sdk.__file__).resolve().parent
    names = ["rmnet_sdk"]
    for info in pkgutil.walk_packages([str(root)], prefix="rmnet_sdk."):
        names.append(info.name)
    return sorted(names)


def test_every_module_imports_in_sorted_order():
    """Import every ``rmnet_sdk`` module, in sorted order, in one fresh interpreter.

    A cycle between two modules surfaces as an ImportError (a partly initialised module) when the
    cycle is entered from the wrong side; a sorted walk enters each package from its top first.
    """
    names = [n for n in _all_module_names()
             if n != "rmnet_sdk._rmnet_native" and not n.endswith("__main__")]
    code = (
        "import importlib, json, traceback\n"
        f"names = {names!r}\n"
        "failures = {}\n"
        "for n in names:\n"
        "    try:\n"
        "        importlib.import_module(n)\n"
        "    except Exception as e:\n"
        "        failures[n] = f'{type(e).__name__}: {e}'\n"
        "print(json.dumps(failures))\n"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr[-4000:]
    failures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert failures == {}
