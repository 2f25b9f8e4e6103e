"""Run ``rmnet serve`` as a child process on free loopback ports, and always stop it.

For tests, benchmarks and scripts that need a live server for a while: the server runs in its
own process group (``tritonserver`` and the Python-backend stubs included), so stopping it
stops everything it started, even when the server hangs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..errors import BackendUnavailableError


def free_loopback_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class ServerProcess:
    """``with ServerProcess(["--max-batch", "4"]) as srv: srv.http_url ...``

    Extra arguments go to ``rmnet serve``; host and ports are chosen here (loopback only).
    The server's output (Triton's log included) is kept in a temporary file, shown when start-up
    fails.
    """

    def __init__(self, args: list[str] | tuple[str, ...] = (), *, start_timeout_s: float = 180.0,
                 stop_timeout_s: float = 30.0, env: dict[str, str] | None = None) -> None:
        self.http_port, self.grpc_port, self.metrics_port = free_loopback_ports(3)
        self.args = list(args)
        self.start_timeout_s, self.stop_timeout_s = start_timeout_s, stop_timeout_s
        self.env = env
        self.endpoints: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        # stays open for the server's lifetime (its stderr); closed and removed in __exit__
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="rmnet-serve-", suffix=".log", delete=False)

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def log_text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "rmnet_sdk.cli", "serve", "--host", "127.0.0.1",
               "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port),
               "--metrics-port", str(self.metrics_port), *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, text=True,
                                     start_new_session=True, env=self.env)
        ready = threading.Event()

        def read_stdout() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self._log.write(line.encode())  # Triton logs to stdout: keep it with stderr
                self._log.flush()
                if line.startswith("{") and not ready.is_set():
                    try:
                        self.endpoints = json.loads(line)
                    except ValueError:
                        continue
                    ready.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout_s
        while not ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = (f"exited with {self.proc.returncode}" if self.proc.poll() is not None
                       else f"not ready after {self.start_timeout_s:g} s")
                self.stop()
                raise BackendUnavailableError(
                    f"rmnet serve {why}; its log ends:\n{self.log_text()[-3000:]}")
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to ``rmnet serve`` (it stops Triton and the stubs), then SIGKILL for whatever
        is left of its process group."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(self.stop_timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # stubs or tritonserver that outlived the parent
        if self.proc.poll() is None:
            self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self._log.name)
