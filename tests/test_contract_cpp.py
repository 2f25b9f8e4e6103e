"""The C++ runtime's statement of the IO contract (cpp/src/contract.hpp) equals the Python one.

The header is parsed as text so this runs without a C++ build; the C++ tests then exercise the
constants through the runtime itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from rmnet_sdk.contract import io

HEADER = Path(__file__).resolve().parents[1] / "cpp" / "src" / "contract.hpp"


def _constants() -> dict[str, str | int]:
    text = HEADER.read_text()
    found: dict[str, str | int] = {}
    for name, value in re.findall(r"constexpr char const\* (k\w+) = \"([^\"]*)\";", text):
        found[name] = value
    for name, value in re.findall(r"constexpr int32_t (k\w+) = (\d+);", text):
        found[name] = int(value)
    return found


def test_cpp_contract_header_matches_python():
    c = _constants()
    assert (c["kIMAGE_TENSOR"], c["kMASK_TENSOR"], c["kPREDICTION_TENSOR"]) == io.TENSOR_NAMES
    assert {c["kIMAGE_TENSOR"]: c["kIMAGE_CHANNELS"], c["kMASK_TENSOR"]: c["kMASK_CHANNELS"],
            c["kPREDICTION_TENSOR"]: c["kPREDICTION_CHANNELS"]} == dict(io.TENSOR_CHANNELS)
    assert c["kSIZE_MULTIPLE"] == io.SIZE_MULTIPLE


def test_cpp_sources_use_the_header_not_literals():
    """Tensor names appear as string literals only in contract.hpp among the runtime sources."""
    src = HEADER.parent
    offenders = []
    # argument checks name the API's parameters ("image", "mask") in their messages: not tensors
    for path in sorted(src.glob("*.cpp")):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r'"(image|mask|prediction)"', line) and "check" not in line.lower():
                offenders.append(f"{path.name}:{lineno}: {line.strip()}")
    assert offenders == []
