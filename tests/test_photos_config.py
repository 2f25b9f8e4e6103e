"""Where the export's photos come from: the caller's configuration, never the install location."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmnet_sdk.errors import DataError
from rmnet_sdk.export import default_photos_dir
from rmnet_sdk.export import quantize as qz
from rmnet_sdk.imaging import write_image


def test_no_folder_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset ``$RMNET_PHOTOS_DIR`` means no folder, even in a checkout that has a photo folder
    beside it (``../shared/data/photos``: the library does not look there)."""
    monkeypatch.delenv("RMNET_PHOTOS_DIR", raising=False)
    assert default_photos_dir() is None
    with pytest.raises(DataError, match="RMNET_PHOTOS_DIR"):
        qz.photo_split()


def test_environment_names_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import numpy as np

    for i in range(3):
        write_image(tmp_path / f"p{i}.png", np.full((16, 16, 3), 40 * i, np.uint8))
    monkeypatch.setenv("RMNET_PHOTOS_DIR", str(tmp_path))
    assert default_photos_dir() == tmp_path
    calib, dev = qz.photo_split()
    assert sorted(calib + dev) == sorted(tmp_path.glob("*.png"))


def test_an_explicit_folder_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    import numpy as np

    (tmp_path / "mine").mkdir()
    write_image(tmp_path / "mine" / "a.png", np.zeros((16, 16, 3), np.uint8))
    monkeypatch.setenv("RMNET_PHOTOS_DIR", str(tmp_path / "elsewhere"))
    calib, dev = qz.photo_split(tmp_path / "mine")
    assert calib + dev == [tmp_path / "mine" / "a.png"]
