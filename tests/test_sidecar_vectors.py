"""The shared engine-sidecar vectors (tests/data/sidecar_vectors/, also read by ctest `sidecar`):
the Python check accepts and refuses each engine for the same reason classes as the C++ one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmnet_sdk.errors import EngineMismatchError
from rmnet_sdk.sidecar import REASONS, RuntimeExpectation, engine_problems, read_engine

VECTORS = sorted((Path(__file__).parent / "data" / "sidecar_vectors").glob("*.json"))


def test_there_are_vectors_for_every_reason() -> None:
    assert len(VECTORS) >= 20
    seen = {r for v in VECTORS for r in json.loads(v.read_text())["reasons"]}
    assert seen == set(REASONS)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda p: p.stem)
def test_vector(vector: Path) -> None:
    v = json.loads(vector.read_text())
    sidecar = v["sidecar_text"] if "sidecar_text" in v else v["sidecar"]
    runtime = RuntimeExpectation(**v["runtime"])
    problems = engine_problems(sidecar, v["engine_text"].encode(), runtime)
    assert sorted({p.reason for p in problems}) == v["reasons"], [p.message for p in problems]


def test_read_engine_returns_the_bytes_it_checked(tmp_path: Path) -> None:
    v = json.loads((VECTORS[0].parent / "accept_exact.json").read_text())
    engine = tmp_path / "m.engine"
    engine.write_bytes(v["engine_text"].encode())
    (tmp_path / "m.engine.json").write_text(json.dumps(v["sidecar"]))
    blob, sidecar = read_engine(engine)
    assert blob == v["engine_text"].encode() and sidecar == v["sidecar"]
    engine.write_bytes(v["engine_text"].replace("plan", "PLAN").encode())  # same size, replaced
    with pytest.raises(EngineMismatchError, match="sha256"):
        read_engine(engine)
