"""Reading ``.keras`` generators in the runtime (:mod:`rmnet_sdk.keras_model`)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rmnet_sdk.errors import ModelError, ModelNotFoundError
from rmnet_sdk.keras_model import load_generator, read_keras_metadata
from rmnet_sdk.metadata import ModelMetadata

#: The module that generators saved before the layers moved to the runtime record for them.
TRAINING_LAYERS_MODULE = "rmnet_sdk.training.layers"


def _with_layer_module(src: Path, dst: Path, module: str) -> int:
    """Copy the ``.keras`` archive ``src`` to ``dst`` with every custom layer's recorded module set
    to ``module``; returns how many layers were changed."""
    changed = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                for layer in config["config"]["layers"]:
                    if (layer.get("registered_name") or "").startswith("rmnet>"):
                        layer["module"] = module
                        changed += 1
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    return changed


def test_generator_saved_by_the_training_layers_module_loads_without_training(tmp_path):
    """A ``.keras`` file records the module its custom layers were defined in; files saved while
    they lived in ``rmnet_sdk.training.layers`` must still load (by their registered names), in a
    process that never imports the training package, and compute the same prediction."""
    pytest.importorskip("tensorflow")
    import keras

    from rmnet_sdk.training.checkpoint import save_generator
    from rmnet_sdk.training.model import build_generator

    keras.utils.set_random_seed(5)
    model = build_generator(4, mask_channel=True, prefill=True)
    saved = save_generator(model, tmp_path / "new.keras", ModelMetadata(gf=4, mask_channel=True))
    old = tmp_path / "old.keras"
    assert _with_layer_module(saved, old, TRAINING_LAYERS_MODULE) == 2  # prefill + residual
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (1, 64, 48, 3)).astype(np.float32)
    mask = np.zeros((1, 64, 48, 1), np.float32)
    mask[:, 16:40, 8:30] = 1
    np.save(tmp_path / "image.npy", image)
    np.save(tmp_path / "mask.npy", mask)
    expected = keras.ops.convert_to_numpy(model([image, mask], training=False))

    code = (
        "import sys, numpy as np, keras\n"
        "from rmnet_sdk.keras_model import load_generator\n"
        f"d = {str(tmp_path)!r}\n"
        "g = load_generator(d + '/old.keras')\n"
        "out = g([np.load(d + '/image.npy'), np.load(d + '/mask.npy')], training=False)\n"
        "np.save(d + '/out.npy', keras.ops.convert_to_numpy(out))\n"
        "print([m for m in sys.modules if m.startswith('rmnet_sdk.training')])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_read_keras_metadata_and_errors(tmp_path):
    with zipfile.ZipFile(tmp_path / "bare.keras", "w") as zf:
        zf.writestr("config.json", "{}")
    assert read_keras_metadata(tmp_path / "bare.keras") == ModelMetadata()  # defaults
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="cannot read Keras model"):
        read_keras_metadata(tmp_path / "junk.keras")
    with pytest.raises(ModelNotFoundError):
        load_generator(tmp_path / "missing.keras")


def test_keras_model_imports_without_keras():
    """The module is importable (and metadata readable) where Keras is not installed."""
    code = ("import sys; sys.modules['keras'] = None; sys.modules['tensorflow'] = None\n"
            "import rmnet_sdk.keras_model\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
