"""Load test of ``rmnet serve`` on loopback: starts the server, runs a bounded load, writes a report.

    python benchmarks/serve_load.py -o benchmarks/results/serve-load-cpu-2core
    python benchmarks/serve_load.py --requests 400 --concurrency 8 --time-cap 60 \
        --serve-args "--max-batch 8 --instances 2 --threads 1" -o out/

Bounded by --requests and --time-cap; the server listens on 127.0.0.1 only and is stopped
(process group included) when the run ends. Writes serve_load.json and serve_load.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from pathlib import Path

from rmnet_sdk._fileio import atomic_write_text
from rmnet_sdk.serving.load import DEFAULT_SIZES, make_requests, report_markdown, run_load
from rmnet_sdk.serving.process import ServerProcess


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--time-cap", type=float, default=60.0, help="seconds; no request starts later")
    p.add_argument("--bad-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sizes", default=",".join(f"{h}x{w}" for h, w in DEFAULT_SIZES),
                   help="image sizes HxW, drawn uniformly")
    p.add_argument("--protocols", default="http,grpc", help="client i uses protocol i mod k")
    p.add_argument("--serve-args", default="--max-batch 8 --max-queue-delay-us 2000 "
                                            "--instances 2 --threads 1",
                   help="extra arguments of rmnet serve (model options included)")
    p.add_argument("-o", "--output", required=True, help="folder for serve_load.json/.md")
    args = p.parse_args(argv)

    sizes = tuple(tuple(int(v) for v in s.split("x")) for s in args.sizes.split(","))
    requests = make_requests(args.requests, sizes=sizes, bad_fraction=args.bad_fraction,
                             seed=args.seed)
    with ServerProcess(shlex.split(args.serve_args)) as server:
        report = run_load(server.http_url, grpc_url=server.grpc_url,
                          metrics_url=server.metrics_url, requests=requests,
                          concurrency=args.concurrency, time_cap_s=args.time_cap,
                          protocols=tuple(args.protocols.split(",")))
        report["server_alive_after"] = server.alive()
    report["setup"] = {"serve_args": args.serve_args, "sizes": [list(s) for s in sizes],
                       "bad_fraction": args.bad_fraction, "seed": args.seed,
                       "python": platform.python_version(), "machine": platform.machine(),
                       "cpu_count": os.cpu_count(), "load_average_1m_after": os.getloadavg()[0],
                       "command": " ".join(["python", "benchmarks/serve_load.py", *(argv or sys.argv[1:])])}
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "serve_load.json", json.dumps(report, indent=2) + "\n")
    md = report_markdown(report) + (
        f"\nServer: `rmnet serve {args.serve_args}` (bundled model unless --model is given), "
        f"loopback. Sizes: {args.sizes}; {args.bad_fraction:.0%} bad requests "
        f"(wrong dtype, 4 channels, mismatched mask, zero pixels, unknown strategy).\n"
        f"Machine: {os.cpu_count()} CPU cores, 1-minute load average {os.getloadavg()[0]:.1f} "
        f"at the end (other jobs share the cores: compare runs only on an idle machine).\n"
        f"Command: `{report['setup']['command']}`\n")
    atomic_write_text(out / "serve_load.md", md)
    print(md)
    ok = report["valid_errors"] == 0 and report["bad_mishandled"] == 0 and report["server_alive_after"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
