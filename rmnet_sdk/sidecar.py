"""The engine sidecar check (kept importable here; it lives in :mod:`rmnet_sdk.contract.sidecar`)."""

from .contract.sidecar import (  # noqa: F401
    REASONS,
    REQUIRED_KEYS,
    Problem,
    RuntimeExpectation,
    compute_capabilities,
    engine_problems,
    integrity_problems,
    raise_problems,
    read_engine,
    read_sidecar,
    sidecar_path,
)
