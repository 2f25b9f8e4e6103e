"""Read a PyTorch ``state_dict`` file (``.pth``) into NumPy arrays, without torch.

A ``.pth`` is a pickle, and unpickling runs whatever callables the file names. These files come
from package indexes, so they are untrusted data: the unpickler here resolves only the few names
a plain ``state_dict`` uses (``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and
the typed storage classes, mapped to our own inert stand-ins) and refuses everything else with
:class:`~rmnet_sdk.errors.ModelError`. It reads both layouts ``torch.save`` has written:

- zip (torch >= 1.6): ``<root>/data.pkl`` plus one raw file per storage, ``<root>/data/<key>``;
- legacy (before 1.6): five consecutive pickles (magic number, protocol, system info, the object,
  the storage keys) followed by each storage as a little-endian int64 element count and its bytes.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from rmnet_sdk.errors import ModelError, ModelNotFoundError

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

#: torch's typed storage class names -> NumPy dtypes (little-endian, as torch writes them).
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"), "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"), "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
}


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` and friends: only names a dtype."""

    name: str
    dtype: np.dtype


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    """A tensor as the pickle describes it; the bytes arrive later (legacy files store them
    after the object pickle)."""

    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: Any, storage_offset: Any, size: Any, stride: Any,
                       requires_grad: Any = False, backward_hooks: Any = None,
                       metadata: Any = None) -> _TensorRef:
    if not isinstance(storage, _StorageRef):
        raise ModelError("corrupt .pth: a tensor does not refer to a storage")
    if not (isinstance(storage_offset, int) and isinstance(size, tuple)
            and isinstance(stride, tuple) and len(size) == len(stride)
            and all(isinstance(v, int) and v >= 0 for v in (storage_offset, *size, *stride))):
        raise ModelError("corrupt .pth: a tensor has an invalid offset, size or stride")
    return _TensorRef(storage, storage_offset, size, stride)


def _ordered_dict(*args: Any) -> OrderedDict:
    return OrderedDict(*args)


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves only the names a ``state_dict`` needs; every other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return _ordered_dict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        raise ModelError(f"refusing to load {module}.{name} from a .pth file: only plain "
                         "state_dicts of tensors are read")

    def persistent_load(self, pid: Any) -> _StorageRef:
        # zip: ('storage', type, key, location, numel); legacy: the same plus view metadata
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[4], int)):
            raise ModelError(f"corrupt .pth: unexpected persistent id {pid!r:.80}")
        if len(pid) == 6 and pid[5] is not None:
            raise ModelError("unsupported .pth: storage views (legacy format) are not read")
        return _StorageRef(str(pid[2]), pid[1].dtype, pid[4])


def _unpickle(data: BinaryIO | bytes) -> Any:
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        return _StateDictUnpickler(stream).load()
    except ModelError:
        raise
    except Exception as exc:  # truncated or malformed pickles raise many different types
        raise ModelError(f"corrupt .pth pickle: {exc}") from exc


def _collect(obj: Any) -> dict[str, _TensorRef]:
    if not isinstance(obj, dict):
        raise ModelError(f"a .pth state_dict must be a mapping, found {type(obj).__name__}")
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, _TensorRef):
            raise ModelError(f"a .pth state_dict must map names to tensors; {key!r:.60} is not "
                             "a tensor")
    return dict(obj)


def _materialise(refs: dict[str, _TensorRef], buffers: dict[str, bytes]) -> dict[str, np.ndarray]:
    out = {}
    for name, ref in refs.items():
        raw = buffers.get(ref.storage.key)
        if raw is None:
            raise ModelError(f"corrupt .pth: storage {ref.storage.key!r} of {name!r} is missing")
        flat = np.frombuffer(raw, dtype=ref.storage.dtype)
        if flat.size != ref.storage.numel:
            raise ModelError(f"corrupt .pth: storage {ref.storage.key!r} holds {flat.size} "
                             f"elements, its header says {ref.storage.numel}")
        if any(n == 0 for n in ref.size):
            out[name] = np.zeros(ref.size, ref.storage.dtype)
            continue
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride, strict=True))
        if last >= flat.size:
            raise ModelError(f"corrupt .pth: tensor {name!r} reads past the end of its storage")
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(flat[ref.offset:], shape=ref.size,
                                               strides=tuple(s * item for s in ref.stride))
        out[name] = np.array(view)  # a copy: owns its memory, native layout
    return out


def _read_zip(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise ModelError(f"{path}: a zip .pth needs exactly one data.pkl, found {len(pickles)}")
        root = pickles[0][: -len("data.pkl")]
        refs = _collect(_unpickle(archive.read(pickles[0])))
        buffers = {}
        for key in {ref.storage.key for ref in refs.values()}:
            member = f"{root}data/{key}"
            if member not in names:
                raise ModelError(f"{path}: storage file {member} is missing")
            buffers[key] = archive.read(member)
    return _materialise(refs, buffers)


def _read_legacy(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        if _unpickle(f) != _LEGACY_MAGIC:
            raise ModelError(f"{path}: not a PyTorch file (neither a zip nor the legacy magic)")
        if _unpickle(f) != _LEGACY_PROTOCOL:
            raise ModelError(f"{path}: unsupported legacy PyTorch protocol")
        info = _unpickle(f)
        if not isinstance(info, dict) or info.get("little_endian") is not True:
            raise ModelError(f"{path}: only little-endian PyTorch files are read")
        refs = _collect(_unpickle(f))
        keys = _unpickle(f)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ModelError(f"{path}: corrupt storage key list")
        dtypes = {ref.storage.key: ref.storage.dtype for ref in refs.values()}
        buffers = {}
        for key in keys:
            header = f.read(8)
            if len(header) != 8 or key not in dtypes:
                raise ModelError(f"{path}: truncated or inconsistent storage {key!r}")
            (numel,) = struct.unpack("<q", header)
            nbytes = numel * dtypes[key].itemsize
            raw = f.read(nbytes)
            if numel < 0 or len(raw) != nbytes:
                raise ModelError(f"{path}: storage {key!r} is truncated")
            buffers[key] = raw
    return _materialise(refs, buffers)


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch ``state_dict`` file as ``{name: ndarray}`` (copies, in the
    file's order; ``num_batches_tracked`` and other integer buffers keep their integer dtype).

    Raises :class:`ModelNotFoundError` for a missing file and :class:`ModelError` for anything
    that is not a plain state_dict of tensors (foreign globals, views, corrupt or truncated data).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"PyTorch weights file not found: {path}")
    if zipfile.is_zipfile(path):
        return _read_zip(path)
    return _read_legacy(path)
