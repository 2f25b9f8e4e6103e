"""The shared engine-sidecar vectors (tests/data/sidecar_vectors/, also read by ctest `sidecar`):
the Python check accepts and refuses each engine for the same reason classes as the C++ one, and
cuts batches into the same profile chunks. Also holds the checked-in schema to the keyword subset
the C++ validator (cpp/src/json_schema.cpp) implements."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rmnet_sdk.contract.profiles import plan_batches
from rmnet_sdk.contract.sidecar import (
    REASONS,
    REQUIRED_KEYS,
    RuntimeExpectation,
    engine_problems,
    load_schema,
    read_engine,
    sidecar_profiles,
)
from rmnet_sdk.errors import EngineMismatchError, InvalidInputError

ROOT = Path(__file__).resolve().parents[1]
VECTORS = sorted((ROOT / "tests" / "data" / "sidecar_vectors").glob("*.json"))
#: The C++ validator's keyword list: the schema may use these and nothing else.
CPP_VALIDATOR = ROOT / "cpp" / "src" / "json_schema.cpp"
#: Assertions the C++ validator implements (cpp/src/json_schema.cpp, kVALIDATION_KEYWORDS) ...
VALIDATION_KEYWORDS = {"type", "enum", "const", "pattern", "minimum", "maximum", "minItems",
                       "maxItems", "minLength", "maxLength", "required", "properties", "items",
                       "anyOf", "$ref"}
#: ... and what it reads past (kANNOTATION_KEYWORDS): annotations and the $defs container.
ANNOTATION_KEYWORDS = {"$schema", "$id", "title", "description", "$defs"}


def _load(vector: Path) -> dict[str, Any]:
    return json.loads(vector.read_text())


def test_there_are_vectors_for_every_reason() -> None:
    assert len(VECTORS) >= 40
    seen = {r for v in VECTORS for r in _load(v)["reasons"]}
    assert seen == set(REASONS)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda p: p.stem)
def test_vector(vector: Path) -> None:
    v = _load(vector)
    sidecar = v["sidecar_text"] if "sidecar_text" in v else v["sidecar"]
    runtime = RuntimeExpectation(**v["runtime"])
    problems = engine_problems(sidecar, v["engine_text"].encode(), runtime)
    assert sorted({p.reason for p in problems}) == v["reasons"], [p.message for p in problems]


PLANNED = [v for v in VECTORS if "plans" in _load(v)]


def test_several_vectors_have_plans() -> None:
    assert len(PLANNED) >= 5
    errors = sum(1 for v in PLANNED for p in _load(v)["plans"] if "error" in p)
    multi_chunk = sum(1 for v in PLANNED for p in _load(v)["plans"] if len(p.get("chunks", [])) > 1)
    assert errors >= 3 and multi_chunk >= 3


@pytest.mark.parametrize("vector", PLANNED, ids=lambda p: p.stem)
def test_vector_plans(vector: Path) -> None:
    """Each plan of an accepted sidecar: exact chunks (begin, count, profile) or the typed error."""
    v = _load(vector)
    assert v["reasons"] == [], "plans are only given for accepted sidecars"
    profiles = sidecar_profiles(v["sidecar"])
    for plan in v["plans"]:
        args = plan["n"], plan["h"], plan["w"]
        if "error" in plan:
            assert plan["error"] == "invalid_argument"
            with pytest.raises(InvalidInputError):
                plan_batches(profiles, *args)
        else:
            got = [[s.start, s.stop - s.start, i] for s, i in plan_batches(profiles, *args)]
            assert got == plan["chunks"], (args, got)


def test_required_keys_are_the_schemas() -> None:
    assert list(REQUIRED_KEYS) == load_schema()["required"]


def _schema_keywords(schema: Any, where: str = "#") -> list[tuple[str, str]]:
    """``(location, keyword)`` for every keyword of every subschema of ``schema``."""
    assert isinstance(schema, dict), f"{where}: a subschema must be an object"
    found = []
    for key, value in schema.items():
        found.append((where, key))
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                found += _schema_keywords(sub, f"{where}/{key}/{name}")
        elif key == "items":
            found += _schema_keywords(value, f"{where}/items")
        elif key == "anyOf":
            for i, sub in enumerate(value):
                found += _schema_keywords(sub, f"{where}/anyOf/{i}")
    return found


def test_schema_uses_only_the_keywords_the_cpp_validator_implements() -> None:
    schema = load_schema()
    used = _schema_keywords(schema)
    unknown = [f"{where}: {key}" for where, key in used
               if key not in VALIDATION_KEYWORDS | ANNOTATION_KEYWORDS]
    assert not unknown, "the C++ validator does not implement these: " + ", ".join(unknown)
    for where, key in used:
        if key == "$ref":
            ref = _ref_at(schema, where)
            assert ref.startswith("#/$defs/") and ref[len("#/$defs/"):] in schema["$defs"], ref
    # Walking finds what it should: the keywords nested in $defs and anyOf are reached.
    assert ("#/$defs/nhw", "maxItems") in used
    assert ("#/properties/compute_capability/anyOf/2/items/anyOf/1", "minimum") in used


def _ref_at(schema: dict[str, Any], where: str) -> str:
    node: Any = schema
    for part in where.split("/")[1:]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node["$ref"]


def _cpp_keyword_list(name: str) -> set[str]:
    text = CPP_VALIDATOR.read_text()
    m = re.search(rf"{name}\[\]\s*=\s*\{{([^}}]*)\}}", text)
    assert m, f"{name} not found in {CPP_VALIDATOR}"
    return set(re.findall(r'"([^"]+)"', m.group(1)))


def test_the_keyword_lists_are_the_cpp_validators() -> None:
    assert _cpp_keyword_list("kVALIDATION_KEYWORDS") == VALIDATION_KEYWORDS
    assert _cpp_keyword_list("kANNOTATION_KEYWORDS") == ANNOTATION_KEYWORDS


def test_read_engine_returns_the_bytes_it_checked(tmp_path: Path) -> None:
    v = _load(VECTORS[0].parent / "accept_exact.json")
    engine = tmp_path / "m.engine"
    engine.write_bytes(v["engine_text"].encode())
    (tmp_path / "m.engine.json").write_text(json.dumps(v["sidecar"]))
    blob, sidecar = read_engine(engine)
    assert blob == v["engine_text"].encode() and sidecar == v["sidecar"]
    engine.write_bytes(v["engine_text"].replace("plan", "PLAN").encode())  # same size, replaced
    with pytest.raises(EngineMismatchError, match="sha256"):
        read_engine(engine)
