"""Serve an R-MNet model on NVIDIA Triton Inference Server through PyTriton.

Triton does the serving work (HTTP/gRPC endpoints, dynamic batching, model instances, health,
readiness and Prometheus metrics); each model instance is one :class:`~rmnet_sdk.Inpainter`,
so served results are exactly those of the Python SDK.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..errors import BackendUnavailableError, InvalidInputError
from ..inpainter import COLORS, STRATEGIES
from . import protocol
from .environment import resolve_stub_env, triton_environment

log = logging.getLogger("rmnet_sdk.serving")


@dataclass
class ServeConfig:
    """How to serve: model, endpoints, batching and instances.

    ``host`` defaults to loopback: exposing the server to a network is a deliberate choice
    (``--host 0.0.0.0``).
    """

    model: str | None = None
    backend: str = "auto"
    device: int = 0
    strategy: str = "auto"
    precision: str = "auto"
    threads: int | None = None
    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    max_batch_size: int = 8
    max_queue_delay_us: int = 2000
    instances: int = 1
    stub_env: str | None = None
    exit_timeout_s: int = 5
    log_verbose: int = 0


def _param(request, name: str, default: str | None, choices: tuple[str, ...]) -> str | None:
    value = request.parameters.get(name, default)
    if value is not None and value not in choices:
        raise InvalidInputError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


@dataclass
class _Parsed:
    image: np.ndarray  # N x H x W x 3 uint8
    mask: np.ndarray   # N x H x W uint8
    strategy: str | None
    color: str


def _parse(request, default_color: str) -> _Parsed:
    """One request's arrays and options, checked beyond what Triton's model config enforces."""
    image = request[protocol.IMAGE_INPUT]
    mask = request[protocol.MASK_INPUT]
    if image.shape[0] != mask.shape[0]:
        raise InvalidInputError(f"{image.shape[0]} images but {mask.shape[0]} masks in one request")
    if image.shape[1:3] != mask.shape[1:3]:
        raise InvalidInputError(
            f"mask is {mask.shape[1]}x{mask.shape[2]} but its image is "
            f"{image.shape[1]}x{image.shape[2]}: they must have the same size")
    return _Parsed(image, mask,
                   _param(request, protocol.PARAM_STRATEGY, None, STRATEGIES),
                   _param(request, protocol.PARAM_COLOR, default_color, COLORS))


def _tag(request, index: int, count: int) -> str:
    tag = request.parameters.get(protocol.PARAM_TAG)
    return f"request {tag}" if tag else f"request {index + 1} of {count} in this batch"


def make_infer_function(inpainter, default_color: str = "rgb") -> Callable[[list], list[dict]]:
    """A PyTriton inference callable over a list of requests (one dynamic batch).

    Every request is checked before any work. PyTriton answers a batch with results for all of
    its requests or one error for all of them, and Triton's dynamic batcher only keeps requests
    of different input shapes apart (so a mismatched or empty mask never shares a batch with
    well-formed requests), not requests with different parameters. A batch that mixes a bad
    parameter with valid requests therefore fails as a whole, with a message that names the
    bad request(s) by their tag and carries :data:`protocol.RESEND_MARKER`: the valid requests
    were not run and may be sent again (``InpaintClient`` does that by itself).

    Requests with the same options are inpainted in one ``Inpainter.run`` call, which batches
    equal-sized tensors for the backend.
    """

    def infer(requests: list) -> list[dict]:
        parsed: list[_Parsed] = []
        problems: list[str] = []
        for k, request in enumerate(requests):
            try:
                parsed.append(_parse(request, default_color))
            except InvalidInputError as e:
                problems.append(f"{_tag(request, k, len(requests))}: {e}")
        if problems:
            message = "; ".join(problems)
            if len(problems) < len(requests):
                message += (f"; {len(requests) - len(problems)} valid request(s) of the same "
                            f"dynamic batch were not run: {protocol.RESEND_MARKER}")
            raise InvalidInputError(message)
        groups: dict[tuple, list[int]] = {}
        for k, p in enumerate(parsed):
            groups.setdefault((p.strategy, p.color), []).append(k)
        outputs: list[np.ndarray | None] = [None] * len(parsed)
        for (strategy, color), members in groups.items():
            images = [img for k in members for img in parsed[k].image]
            masks = [m for k in members for m in parsed[k].mask]
            filled = inpainter.run(images, masks, color=color, strategy=strategy)
            start = 0
            for k in members:
                n = parsed[k].image.shape[0]
                outputs[k] = np.stack(filled[start:start + n])
                start += n
        return [{protocol.OUTPUT: out} for out in outputs]

    infer.__name__ = "rmnet_infer"
    return infer


def _triton_config(cfg: ServeConfig):
    from pytriton.triton import TritonConfig

    return TritonConfig(
        http_address=cfg.host, http_port=cfg.http_port,
        grpc_address=cfg.host, grpc_port=cfg.grpc_port,
        metrics_address=cfg.host, metrics_port=cfg.metrics_port,
        allow_cpu_metrics=True, exit_timeout_secs=cfg.exit_timeout_s,
        log_verbose=cfg.log_verbose)


def _model_config(cfg: ServeConfig):
    from pytriton.model_config import DynamicBatcher, ModelConfig

    if cfg.max_batch_size < 1:
        raise InvalidInputError(f"max_batch_size must be >= 1, got {cfg.max_batch_size}")
    if cfg.instances < 1:
        raise InvalidInputError(f"instances must be >= 1, got {cfg.instances}")
    return ModelConfig(
        batching=True, max_batch_size=cfg.max_batch_size,
        batcher=DynamicBatcher(max_queue_delay_microseconds=cfg.max_queue_delay_us))


def _tensors():
    from pytriton.model_config import Tensor

    inputs = [Tensor(name=protocol.IMAGE_INPUT, dtype=protocol.DTYPE, shape=protocol.IMAGE_SHAPE),
              Tensor(name=protocol.MASK_INPUT, dtype=protocol.DTYPE, shape=protocol.MASK_SHAPE)]
    outputs = [Tensor(name=protocol.OUTPUT, dtype=protocol.DTYPE, shape=protocol.IMAGE_SHAPE)]
    return inputs, outputs


def _inpainters(cfg: ServeConfig) -> list:
    from ..inpainter import Inpainter

    return [Inpainter(cfg.model, backend=cfg.backend, device=cfg.device, strategy=cfg.strategy,
                      threads=cfg.threads, precision=cfg.precision)
            for _ in range(cfg.instances)]


@contextmanager
def running_server(cfg: ServeConfig) -> Iterator[object]:
    """Start Triton with the model bound and ready; stop it (and its processes) on exit."""
    try:
        from pytriton.triton import Triton
    except ImportError as e:
        raise BackendUnavailableError(
            "serving needs PyTriton: pip install 'rmnet-sdk[serve]' and "
            "pip install --no-deps nvidia-pytriton==0.7.0 (see README, Scaling out)") from e
    stub_env = resolve_stub_env(cfg.stub_env)
    inpainters = _inpainters(cfg)
    inputs, outputs = _tensors()
    with triton_environment(stub_env), Triton(config=_triton_config(cfg)) as triton:
        triton.bind(model_name=protocol.MODEL_NAME,
                    infer_func=[make_infer_function(inp) for inp in inpainters],
                    inputs=inputs, outputs=outputs, config=_model_config(cfg), strict=True)
        triton.run()
        log.info("serving %r on http://%s:%d, grpc %s:%d, metrics http://%s:%d/metrics",
                 inpainters[0], cfg.host, cfg.http_port, cfg.host, cfg.grpc_port, cfg.host,
                 cfg.metrics_port)
        yield triton


def serve(cfg: ServeConfig, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM; Triton and its stub processes are stopped on the way out."""

    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with running_server(cfg) as triton:
            if on_ready:
                on_ready()
            triton.serve()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)


def describe_endpoints(cfg: ServeConfig) -> dict[str, str]:
    """The URLs a client, a load balancer's health check and Prometheus use."""
    base = f"http://{cfg.host}:{cfg.http_port}"
    return {
        "http": f"{cfg.host}:{cfg.http_port}",
        "grpc": f"{cfg.host}:{cfg.grpc_port}",
        "live": f"{base}/v2/health/live",
        "ready": f"{base}/v2/health/ready",
        "model_ready": f"{base}/v2/models/{protocol.MODEL_NAME}/ready",
        "metrics": f"http://{cfg.host}:{cfg.metrics_port}/metrics",
    }


__all__ = ["ServeConfig", "make_infer_function", "running_server", "serve", "describe_endpoints"]
