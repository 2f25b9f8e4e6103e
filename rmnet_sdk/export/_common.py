"""Small helpers shared by the export modules (no TensorFlow, no TensorRT)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from .._fileio import sha256_bytes, sha256_file  # noqa: F401 (re-exported to the export modules)
from ..errors import InvalidInputError

log = logging.getLogger("rmnet_sdk.export")

#: H and W of every model tensor must be multiples of this (the generator pools 2x four times).
SIZE_MULTIPLE = 16

T = TypeVar("T")


def check_spatial_size(h: int, w: int) -> tuple[int, int]:
    """Check that ``h x w`` is a size the network accepts; return it as ints.

    The generator halves the resolution four times and doubles it back four times, so H and W
    must be positive multiples of 16; anything else fails deep inside the graph (ONNX Runtime:
    a shape mismatch at the final ``Mul``). The runtime reuses this check before padding.
    """
    try:
        hi, wi = int(h), int(w)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"height and width must be integers, got {h!r} x {w!r}") from e
    if hi != h or wi != w or hi <= 0 or wi <= 0 or hi % SIZE_MULTIPLE or wi % SIZE_MULTIPLE:
        up = lambda v: max(SIZE_MULTIPLE, -(-int(v) // SIZE_MULTIPLE) * SIZE_MULTIPLE)  # noqa: E731
        hint = ""
        if isinstance(h, (int, float)) and isinstance(w, (int, float)) and h > 0 and w > 0:
            hint = f" (pad or resize to e.g. {up(h)}x{up(w)})"
        raise InvalidInputError(
            f"model tensors need height and width that are positive multiples of {SIZE_MULTIPLE}"
            f" (the generator pools four times); got {h}x{w}{hint}")
    return hi, wi


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` name the same file (or would, once created)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return pa.resolve() == pb.resolve()


def repo_root() -> Path:
    """The checkout holding this package (``rmnet_sdk/..``)."""
    return Path(__file__).resolve().parents[2]


def default_photos_dir() -> Path | None:
    """The photo corpus used by the fp16 gate, or None when there is none.

    ``$RMNET_PHOTOS_DIR`` when set, else ``../shared/data/photos`` relative to the repository root
    (where CI and the dev machines keep it).
    """
    env = os.environ.get("RMNET_PHOTOS_DIR")
    if env:
        return Path(env)
    candidate = repo_root().parent / "shared" / "data" / "photos"
    return candidate if candidate.is_dir() else None


def progress_iter(items: Iterable[T], *, desc: str, total: int | None = None,
                  enable: bool = False) -> Iterator[T]:
    """``items``, with a tqdm bar on stderr when ``enable`` (the CLI), plain otherwise."""
    if not enable:
        yield from items
        return
    from tqdm.auto import tqdm

    with tqdm(items, desc=desc, total=total, unit="img", leave=False, dynamic_ncols=True) as bar:
        yield from bar


def write_atomic(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` atomically (see :mod:`rmnet_sdk._fileio`); returns the path."""
    from .._fileio import atomic_write_bytes

    atomic_write_bytes(path, data, overwrite=overwrite)
    return Path(path)
