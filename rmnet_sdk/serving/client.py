"""A small client for a served R-MNet model, on ``tritonclient`` over HTTP or gRPC.

    with InpaintClient("127.0.0.1:8000") as client:            # or protocol="grpc", port 8001
        filled = client.inpaint(image, mask, strategy="resize")

Errors come back typed: a request the server rejects raises
:class:`~rmnet_sdk.errors.InvalidInputError` with the server's own message; a server that
cannot be reached raises :class:`~rmnet_sdk.errors.BackendUnavailableError`.
"""

from __future__ import annotations

import re
import time
import uuid

import numpy as np

from ..errors import BackendUnavailableError, InvalidInputError, RMNetError
from . import protocol as wire

PROTOCOLS = ("http", "grpc")
#: How often a valid request is sent when bad requests in its dynamic batches failed them. Every
#: such failure used up at least one bad request (each is sent once), so this only bounds the
#: loop when many bad requests arrive staggered beside a valid one.
RESEND_ATTEMPTS = 8
#: Triton rejects requests that break the model config (dtype, rank, fixed dims) with these.
_TRITON_INPUT_ERRORS = ("unexpected datatype", "unexpected shape", "expected", "invalid",
                        "unexpected inference input", "unexpected number of inputs")
#: The last line of a PyTriton model error is ``module.ErrorType: message``.
_EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.*)$")


def _clean_message(message: str) -> tuple[str | None, str]:
    """(exception type, message) from a Triton error text, dropping PyTriton's traceback."""
    lines = [ln.strip() for ln in str(message).strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        m = _EXCEPTION_LINE.match(line)
        if m:
            return m.group(1), m.group(2)
    return None, lines[-1] if lines else str(message)


class InpaintClient:
    """Send images and masks to ``rmnet serve`` and get the filled images back.

    Args:
        url: ``host:port`` of the server's HTTP (default 8000) or gRPC (8001) endpoint.
        protocol: ``"http"`` or ``"grpc"``.
        timeout_s: network timeout per request.
    """

    def __init__(self, url: str = "127.0.0.1:8000", protocol: str = "http", *,
                 model_name: str = wire.MODEL_NAME, timeout_s: float = 60.0) -> None:
        if protocol not in PROTOCOLS:
            raise InvalidInputError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
        self.url, self.protocol, self.model_name = url, protocol, model_name
        self.timeout_s = float(timeout_s)
        if protocol == "http":
            import tritonclient.http as tc

            self._client = tc.InferenceServerClient(url, connection_timeout=timeout_s,
                                                    network_timeout=timeout_s)
        else:
            import tritonclient.grpc as tc

            self._client = tc.InferenceServerClient(url)
        self._tc = tc

    # -- health ---------------------------------------------------------------------------------
    def is_live(self) -> bool:
        try:
            return bool(self._client.is_server_live())
        except Exception:  # refused / reset while starting or stopping: not live
            return False

    def is_ready(self) -> bool:
        """Server ready and the model loaded (what a load balancer should check)."""
        try:
            return bool(self._client.is_server_ready() and self._client.is_model_ready(self.model_name))
        except Exception:
            return False

    def wait_ready(self, timeout_s: float = 60.0, poll_s: float = 0.2) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.is_ready():
            if time.monotonic() > deadline:
                raise BackendUnavailableError(
                    f"no ready model {self.model_name!r} at {self.url} ({self.protocol}) "
                    f"after {timeout_s:g} s")
            time.sleep(poll_s)

    # -- inference ------------------------------------------------------------------------------
    def inpaint(self, image, mask, *, strategy: str | None = None,
                color: str | None = None) -> np.ndarray:
        """Fill ``image`` (``HxWx3`` uint8, or ``NxHxWx3``) where ``mask`` (``HxW``/``NxHxW``,
        nonzero = hole) is set; returns an array of the image's shape.

        Arrays are sent as given (only a boolean mask becomes uint8), so the server is where
        a wrong dtype or shape is caught, with Triton's or the SDK's message.
        """
        image = np.asarray(image)
        mask = np.asarray(mask)
        if mask.dtype == np.bool_:
            mask = mask.astype(np.uint8)
        single = image.ndim == 3
        if single:
            image, mask = image[None], mask[None]
        tag = uuid.uuid4().hex
        params = {k: v for k, v in ((wire.PARAM_STRATEGY, strategy), (wire.PARAM_COLOR, color),
                                    (wire.PARAM_TAG, tag)) if v is not None}
        kwargs = {"parameters": params}
        if self.protocol == "grpc":
            kwargs["client_timeout"] = self.timeout_s
        for attempt in range(1, RESEND_ATTEMPTS + 1):
            inputs = [self._input(wire.IMAGE_INPUT, image), self._input(wire.MASK_INPUT, mask)]
            outputs = [self._tc.InferRequestedOutput(wire.OUTPUT)]
            try:
                result = self._client.infer(self.model_name, inputs, outputs=outputs, **kwargs)
                break
            except self._exception_type() as e:
                error = self._translate(e)
                # a valid request that shared a dynamic batch with a bad one was not run
                innocent = wire.RESEND_MARKER in str(error) and f"request {tag}:" not in str(error)
                if not innocent or attempt == RESEND_ATTEMPTS:
                    raise error from None
            except OSError as e:  # refused, reset, timed out before Triton answered
                raise BackendUnavailableError(f"{self.url} ({self.protocol}): {e}") from e
        out = result.as_numpy(wire.OUTPUT)
        return out[0] if single else out

    def _input(self, name: str, array: np.ndarray):
        from tritonclient.utils import np_to_triton_dtype

        triton_dtype = np_to_triton_dtype(array.dtype)
        if triton_dtype is None:
            raise InvalidInputError(f"{name} has dtype {array.dtype}, which Triton cannot carry")
        tensor = self._tc.InferInput(name, list(array.shape), triton_dtype)
        tensor.set_data_from_numpy(np.ascontiguousarray(array))
        return tensor

    def _exception_type(self):
        from tritonclient.utils import InferenceServerException

        return InferenceServerException

    def _translate(self, e) -> RMNetError:
        kind, message = _clean_message(e.message() if hasattr(e, "message") else str(e))
        if "zeros in shape" in message:  # PyTriton's transport refuses 0-pixel tensors
            return InvalidInputError(
                f"server rejected the request: an image or mask has zero pixels ({message})")
        text = message.lower()
        status = str(e.status() or "") if hasattr(e, "status") else ""
        if kind == "InvalidInputError" or any(s in text for s in _TRITON_INPUT_ERRORS) \
                or status in ("400", "StatusCode.INVALID_ARGUMENT"):
            return InvalidInputError(f"server rejected the request: {message}")
        if "unavailable" in status.lower() or "connect" in text or "refused" in text:
            return BackendUnavailableError(f"{self.url}: {message}")
        return RMNetError(f"server error ({kind or status or 'unknown'}): {message}")

    # -- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> InpaintClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["InpaintClient", "PROTOCOLS"]
