"""The one sha256 helper (``rmnet_sdk._fileio``) that sidecars, cache keys and manifests use."""

from __future__ import annotations

import numpy as np

from rmnet_sdk import _fileio
from rmnet_sdk.export import _common

#: FIPS 180-2 test vector: sha256("abc").
ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sha256_bytes_known_vector():
    assert _fileio.sha256_bytes(b"abc") == ABC_SHA256


def test_sha256_file_spans_several_chunks(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, (1 << 20) * 2 + 7, dtype=np.uint8).tobytes()
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert _fileio.sha256_file(path) == _fileio.sha256_bytes(data)
    (tmp_path / "abc").write_bytes(b"abc")
    assert _fileio.sha256_file(tmp_path / "abc") == ABC_SHA256


def test_export_names_are_the_runtime_helper():
    assert _common.sha256_file is _fileio.sha256_file
    assert _common.sha256_bytes is _fileio.sha256_bytes
