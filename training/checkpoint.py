"""Checkpoints: every variable of the run (networks, optimisers, RNG states) in one ``.npz``.

Written atomically (temp file + rename) so an interrupted save never corrupts the latest good
checkpoint; ``checkpoint.json`` names the newest one. Restoring checks that every variable's
path and shape match, so a checkpoint from another recipe fails loudly instead of half-loading.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from rmnet_sdk._fileio import atomic_path, atomic_write_bytes, atomic_write_text
from rmnet_sdk.errors import ModelError
from rmnet_sdk.metadata import KERAS_MEMBER, ModelMetadata

INDEX_FILE = "checkpoint.json"
_AUTO_SUFFIX = re.compile(r"_\d+(?=/|$)")


def _stable(path: str) -> str:
    """A variable path without Keras's per-process numbering (``seed_generator_5`` ->
    ``seed_generator``), which depends on how many objects were built before."""
    return _AUTO_SUFFIX.sub("", path)


def _collect(groups: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for group, variables in groups.items():
        for i, v in enumerate(variables):
            arrays[f"{group}/{i:04d}/{v.path}"] = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
    return arrays


def save_checkpoint(directory: str | Path, step: int, groups: dict[str, list[Any]],
                    state: dict[str, Any], *, keep: int = 3) -> Path:
    """Save ``groups`` (name -> list of Keras variables) and JSON ``state`` for ``step``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    arrays = _collect(groups)
    arrays["__state__"] = np.frombuffer(json.dumps({**state, "step": step}).encode(), dtype=np.uint8)
    np.savez(buf, **arrays)
    path = directory / f"ckpt-{step:08d}.npz"
    atomic_write_bytes(path, buf.getvalue())
    atomic_write_text(directory / INDEX_FILE, json.dumps({"latest": path.name, "step": step}) + "\n")
    old = sorted(directory.glob("ckpt-*.npz"))[:-keep] if keep > 0 else []
    for p in old:
        if p != path:
            p.unlink(missing_ok=True)
    return path


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest checkpoint named by ``checkpoint.json`` (or ``None`` when there is none)."""
    index = Path(directory) / INDEX_FILE
    if not index.is_file():
        return None
    path = Path(directory) / json.loads(index.read_text())["latest"]
    return path if path.is_file() else None


def load_checkpoint(path: str | Path, groups: dict[str, list[Any]], *,
                    optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Assign saved values to ``groups`` in place; returns the saved JSON state.

    Groups named in ``optional`` may be absent from the file (state added to a recipe later,
    e.g. the generator's weight average); they are listed in ``state["missing_groups"]``."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ModelError(f"cannot read checkpoint {path}: {e}") from e
    with data:
        state = json.loads(bytes(data["__state__"]).decode())
        state["missing_groups"] = []
        for group, variables in groups.items():
            keys = sorted(k for k in data.files if k.startswith(group + "/"))
            if not keys and group in optional:
                state["missing_groups"].append(group)
                continue
            if len(keys) != len(variables):
                raise ModelError(f"checkpoint {path}: group {group!r} has {len(keys)} variables, "
                                 f"the model has {len(variables)} (different recipe?)")
            for key, v in zip(keys, variables, strict=True):
                saved_path = key.split("/", 2)[2]
                value = data[key]
                if _stable(saved_path) != _stable(v.path) or tuple(value.shape) != tuple(v.shape):
                    raise ModelError(f"checkpoint {path}: {key} {value.shape} does not match "
                                     f"{v.path} {tuple(v.shape)}")
                v.assign(value)
    return state


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_generator(model: Any, path: str | Path, metadata: ModelMetadata, *,
                   overwrite: bool = True) -> Path:
    """Save the generator as ``.keras`` with our metadata as an extra JSON member of the zip."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"generator files end in .keras, got {path}")
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp_keras = tmp.with_name(tmp.stem + ".keras") if tmp.suffix != ".keras" else tmp
        model.save(tmp_keras)
        with zipfile.ZipFile(tmp_keras, "a") as zf:
            zf.writestr(KERAS_MEMBER, json.dumps(metadata.to_dict(), indent=2))
        if tmp_keras != tmp:
            tmp_keras.replace(tmp)
    return path


def read_keras_metadata(path: str | Path) -> ModelMetadata:
    """Our metadata from a ``.keras`` archive; defaults when it has none."""
    try:
        with zipfile.ZipFile(path) as zf:
            if KERAS_MEMBER not in zf.namelist():
                return ModelMetadata()
            return ModelMetadata.from_dict(json.loads(zf.read(KERAS_MEMBER)))
    except (OSError, zipfile.BadZipFile) as e:
        raise ModelError(f"cannot read Keras model {path}: {e}") from e


def load_generator(path: str | Path) -> Any:
    """Load a generator saved by :func:`save_generator` (Keras ``safe_mode`` stays on)."""
    import keras

    path = Path(path)
    if not path.is_file():
        from rmnet_sdk.errors import ModelNotFoundError

        raise ModelNotFoundError(f"Keras model not found: {path}")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many types for corrupt archives
        raise ModelError(f"cannot load Keras model {path}: {e}") from e
