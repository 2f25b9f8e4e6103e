"""``rmnet serve``: the command-line face of :mod:`rmnet_sdk.serving`.

    rmnet serve                                    # bundled model, loopback, ports 8000-8002
    rmnet serve --model model.onnx --max-batch 8 --instances 2 --host 0.0.0.0
    rmnet serve --prepare-stub-env                 # once per machine (NumPy 1 for Triton's stub)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``rmnet serve`` (model options come from the main CLI)."""
    from .server import ServeConfig

    d = ServeConfig()
    p.add_argument("--host", default=d.host,
                   help="address to listen on (default loopback; 0.0.0.0 for every interface)")
    p.add_argument("--http-port", type=int, default=d.http_port)
    p.add_argument("--grpc-port", type=int, default=d.grpc_port)
    p.add_argument("--metrics-port", type=int, default=d.metrics_port,
                   help="Prometheus metrics at http://HOST:PORT/metrics")
    p.add_argument("--max-batch", type=int, default=d.max_batch_size,
                   help="largest batch Triton's dynamic batcher forms (images of one size)")
    p.add_argument("--max-queue-delay-us", type=int, default=d.max_queue_delay_us,
                   help="how long a request may wait for others to batch with (microseconds)")
    p.add_argument("--instances", type=int, default=d.instances,
                   help="model instances (each its own Inpainter and backend session)")
    p.add_argument("--stub-env", default=None,
                   help="NumPy-1 environment for Triton's Python-backend stub (default: "
                        "~/.cache/rmnet-sdk/triton-stub-pyXY, needed when running NumPy 2)")
    p.add_argument("--prepare-stub-env", action="store_true",
                   help="create that environment with pip, print its path and exit")
    p.add_argument("--triton-log-verbose", type=int, default=0, help="Triton's log verbosity")


def config_from_args(args: argparse.Namespace):
    from .server import ServeConfig

    return ServeConfig(
        model=args.model, backend=args.backend, device=args.device, strategy=args.strategy,
        precision=args.precision, threads=args.threads, host=args.host,
        http_port=args.http_port, grpc_port=args.grpc_port, metrics_port=args.metrics_port,
        max_batch_size=args.max_batch, max_queue_delay_us=args.max_queue_delay_us,
        instances=args.instances, stub_env=args.stub_env, log_verbose=args.triton_log_verbose)


def main(args: argparse.Namespace) -> int:
    from .environment import prepare_stub_env
    from .server import describe_endpoints, serve

    if args.prepare_stub_env:
        env = prepare_stub_env(Path(args.stub_env) if args.stub_env else None)
        print(env)
        return 0
    cfg = config_from_args(args)

    def announce() -> None:
        # one JSON line on stdout: scripts (and the tests) wait for it instead of polling
        print(json.dumps({"status": "ready", **describe_endpoints(cfg)}), flush=True)

    serve(cfg, on_ready=announce)
    return 0

