"""Small helpers shared by the export modules (no TensorFlow, no TensorRT)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from .._fileio import atomic_write_bytes as write_atomic  # noqa: F401 (the export modules' name)
from .._fileio import same_file, sha256_bytes, sha256_file  # noqa: F401 (re-exported to the export modules)
from ..contract.io import SIZE_MULTIPLE, check_spatial_size  # noqa: F401 (re-exported)

log = logging.getLogger("rmnet_sdk.export")

T = TypeVar("T")


#: Environment variable naming the photo folder that export gates and calibration read when no
#: folder is passed.
PHOTOS_ENV = "RMNET_PHOTOS_DIR"


def default_photos_dir() -> Path | None:
    """The photo folder named by ``$RMNET_PHOTOS_DIR``, or None when it is unset.

    Where the photos live is the caller's configuration (a CLI flag, this variable); the library
    never guesses a folder from where it is installed.
    """
    env = os.environ.get(PHOTOS_ENV)
    return Path(env) if env else None


def progress_iter(items: Iterable[T], *, desc: str, total: int | None = None,
                  enable: bool = False) -> Iterator[T]:
    """``items``, with a tqdm bar on stderr when ``enable`` (the CLI), plain otherwise."""
    if not enable:
        yield from items
        return
    from tqdm.auto import tqdm

    with tqdm(items, desc=desc, total=total, unit="img", leave=False, dynamic_ncols=True) as bar:
        yield from bar
