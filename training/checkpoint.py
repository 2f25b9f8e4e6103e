"""Checkpoints: every variable of the run (networks, optimisers, RNG states) in one ``.npz``.

Written atomically (temp file + rename) so an interrupted save never corrupts the latest good
checkpoint; ``checkpoint.json`` names the newest one. A checkpoint that is missing, truncated or
corrupt all the same (a full disk, a copy cut short, a hand-deleted file) is skipped with a
warning in favour of the newest readable older one: a run never silently starts again from step 0,
and pruning only ever removes checkpoints older than the one just written. Restoring checks that
every variable's path and shape match, so a checkpoint from another recipe fails loudly instead
of half-loading.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from rmnet_sdk._fileio import atomic_path, atomic_write_bytes, atomic_write_text
from rmnet_sdk._fileio import sha256_file as file_sha256  # noqa: F401 (a name callers import)
from rmnet_sdk.errors import ModelError
from rmnet_sdk.keras_model import load_generator, read_keras_metadata  # noqa: F401 (re-exported)
from rmnet_sdk.metadata import KERAS_MEMBER, ModelMetadata

log = logging.getLogger("rmnet_sdk.training")

INDEX_FILE = "checkpoint.json"
_CHECKPOINT_NAME = re.compile(r"ckpt-(\d+)\.npz")
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
    # Only checkpoints older than this one are pruned: a newer file (left by a run that resumed
    # from an older checkpoint because the newest was unreadable) is not this save's to delete.
    older = [p for s, p in list_checkpoints(directory) if s < step]
    for p in older[max(keep - 1, 0):] if keep > 0 else []:
        p.unlink(missing_ok=True)
    return path


def list_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``ckpt-<step>.npz`` in ``directory``, newest first."""
    found = []
    for p in Path(directory).glob("ckpt-*.npz"):
        match = _CHECKPOINT_NAME.fullmatch(p.name)
        if match and p.is_file():
            found.append((int(match.group(1)), p))
    return sorted(found, reverse=True)


def checkpoint_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be restored (truncated, a failed CRC, no training state), or ``None``.

    Reads the whole file once: a checkpoint cut short at any byte fails here rather than halfway
    through assigning variables."""
    try:
        with zipfile.ZipFile(path) as zf:
            if "__state__.npy" not in zf.namelist():
                return "it holds no training state"
            bad = zf.testzip()
            if bad is not None:
                return f"{bad} fails its CRC check"
        with np.load(path, allow_pickle=False) as data:
            state = json.loads(bytes(data["__state__"]).decode())
        if not isinstance(state, dict) or not isinstance(state.get("step"), int):
            return "its training state has no step"
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:  # JSONDecodeError is a ValueError
        return f"{type(e).__name__}: {e}"
    return None


def _indexed_name(directory: Path) -> str | None:
    index = directory / INDEX_FILE
    if not index.is_file():
        return None
    try:
        return str(json.loads(index.read_text())["latest"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("%s is unreadable (%s): looking for checkpoints by name", index, e)
        return None


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint to resume from, or ``None`` when ``directory`` has none.

    Normally the one ``checkpoint.json`` names (it is written after the checkpoint, so it is
    authoritative even beside files of an earlier run). When that file is missing, truncated or
    corrupt, the newest readable older ``ckpt-*.npz`` is used instead, and without an index the
    newest readable one, each time with a warning naming what was skipped. Raises
    :class:`ModelError` when checkpoints exist but none can be read: starting again from step 0
    would silently throw the run away."""
    directory = Path(directory)
    index = directory / INDEX_FILE
    candidates = list_checkpoints(directory)
    named = _indexed_name(directory)
    skipped = []
    if named is not None:
        path = directory / named
        if path.is_file():
            problem = checkpoint_problem(path)
            if problem is None:
                return path
            log.warning("checkpoint %s cannot be read (%s): trying an older one", path, problem)
            skipped.append(f"{named}: {problem}")
        else:
            log.warning("%s names %s, which is missing", index, named)
        match = _CHECKPOINT_NAME.fullmatch(named)
        if match:
            candidates = [(s, p) for s, p in candidates if s < int(match.group(1))]
    elif candidates and not index.exists():
        log.warning("%s is missing: looking for checkpoints by name", index)
    for _, path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            if named is not None:
                log.warning("resuming from %s, the newest readable checkpoint%s", path.name,
                            f" (skipped: {'; '.join(skipped)})" if skipped else "")
            return path
        log.warning("checkpoint %s cannot be read (%s): trying an older one", path, problem)
        skipped.append(f"{path.name}: {problem}")
    if skipped:
        raise ModelError(f"none of the {len(skipped)} checkpoints in {directory} can be read "
                         f"({'; '.join(skipped)}); move them away, or start over with --no-resume")
    if named is not None:
        raise ModelError(f"{index} names {named}, which is missing, and there is no older "
                         "checkpoint; start over with --no-resume")
    return None


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
