"""Serving R-MNet to many clients on NVIDIA Triton Inference Server (through PyTriton).

``rmnet serve`` / :func:`serve` run the server; :class:`InpaintClient` talks to it over HTTP or
gRPC; :mod:`.protocol` names the wire format both share. The server side needs the ``serve``
extra and PyTriton (see README, "Scaling out"); the client needs only ``tritonclient``.
"""

from __future__ import annotations

from .client import InpaintClient
from .protocol import MODEL_NAME

__all__ = ["InpaintClient", "MODEL_NAME", "ServeConfig", "serve", "running_server"]


def __getattr__(name: str):
    """Server names load PyTriton-related code only when asked for."""
    if name in ("ServeConfig", "serve", "running_server"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'rmnet_sdk.serving' has no attribute {name!r}")
