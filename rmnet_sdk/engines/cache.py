"""A content-addressed cache of TensorRT engines, safe across processes.

Key (:mod:`rmnet_sdk.contract.cache_key`): sha256 over the ONNX file's sha256, the
TensorRT flavour and version, the compute capabilities built for (and the GPU name when the build
is for the local GPU), the precision, the optimisation profiles, the builder optimisation level,
the hardware-compatibility level and the workspace limit.

Location: ``$RMNET_CACHE_DIR/engines`` when ``RMNET_CACHE_DIR`` is set, else
``$XDG_CACHE_HOME/rmnet-sdk/engines``, else ``~/.cache/rmnet-sdk/engines``. Layout::

    <root>/<key[:2]>/<key>.engine        the serialized engine
    <root>/<key[:2]>/<key>.engine.json   its sidecar
    <root>/locks/<key>.lock              flock'ed while an entry is checked or built
    <root>/timing/<flavour>-<version>-<sm>-<gpu>.cache   timing cache per GPU model + version

Engines and sidecars are written atomically; a lock file (``fcntl.flock``) makes a second
process wait for the first one's build instead of building the same engine again, for at most
``RMNET_CACHE_LOCK_TIMEOUT`` seconds (default 1800: a process stopped while building keeps the
lock; a killed one releases it). An entry is only returned when its sidecar matches the request
*and* the engine file's sha256 matches the sidecar; anything else is rebuilt (with a log line
saying why). A valid entry is served without the lock and without write access, so a read-only
cache (a shared, pre-built one) works. A cache that cannot be used raises
:class:`~rmnet_sdk.errors.EngineCacheError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..contract.cache_key import EngineRequest
from ..errors import EngineCacheError, EngineMismatchError, ModelNotFoundError, RMNetError
from .build import build_engine, cache_key, check_engine, expected_sidecar_fields
from .environment import TrtEnvironment, detect_environment, resolve_targets
from .onnx_source import read_onnx_source

log = logging.getLogger("rmnet_sdk.engines")

#: Seconds a builder waits for another process's lock on the same engine.
DEFAULT_LOCK_TIMEOUT_S = 1800.0


def lock_timeout() -> float:
    """``RMNET_CACHE_LOCK_TIMEOUT`` seconds, else :data:`DEFAULT_LOCK_TIMEOUT_S`."""
    text = os.environ.get("RMNET_CACHE_LOCK_TIMEOUT")
    try:
        return float(text) if text else DEFAULT_LOCK_TIMEOUT_S
    except ValueError as e:
        raise EngineCacheError(f"RMNET_CACHE_LOCK_TIMEOUT must be a number of seconds, got {text!r}") from e


def default_cache_dir() -> Path:
    """Where engines are cached (see the module docstring)."""
    env = os.environ.get("RMNET_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "engines"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rmnet-sdk" / "engines"


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise EngineCacheError(f"cannot create the engine cache folder {path}: a file is in the "
                               f"way ({e}); remove it or set RMNET_CACHE_DIR elsewhere") from e
    except OSError as e:
        raise EngineCacheError(f"cannot create the engine cache folder {path}: {e} (set "
                               "RMNET_CACHE_DIR to a writable folder)") from e


@contextlib.contextmanager
def file_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if needed); waits up to ``timeout`` seconds
    (default :func:`lock_timeout`) for another holder, then raises :class:`EngineCacheError`.

    flock locks belong to the open file description, so two threads of one process exclude each
    other too. Where ``fcntl`` does not exist (Windows) this degrades to no locking.
    """
    timeout = lock_timeout() if timeout is None else float(timeout)
    _make_dir(path.parent)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        log.warning("no fcntl on this platform: engine cache builds are not locked")
        yield
        return
    try:
        f = open(path, "a+b")  # noqa: SIM115 - closed by the `with f` below; opened apart to type its errors
    except IsADirectoryError as e:
        raise EngineCacheError(f"{path} is a folder where the engine cache lock file should be; "
                               "remove it") from e
    except OSError as e:
        raise EngineCacheError(f"cannot open the engine cache lock {path}: {e}") from e
    with f:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    log.info("waiting for another process building this engine (lock %s)", path)
                    waited = True
                if time.monotonic() >= deadline:
                    raise EngineCacheError(
                        f"another process has held the engine cache lock {path} for more than "
                        f"{timeout:g} s: a build still running, or a process stopped while "
                        "building. If no build is running, delete the lock file; to wait longer, "
                        "set RMNET_CACHE_LOCK_TIMEOUT (seconds)") from None
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class EngineCache:
    """``EngineCache(root).get_or_build(onnx_path, request) -> (engine_path, sidecar)``."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *,
                 env: TrtEnvironment | None = None, device: int = 0) -> None:
        """``device``: the CUDA ordinal engines are built for (its GPU is part of the key)."""
        self.root = Path(root) if root is not None else default_cache_dir()
        self.device = env.device if env is not None else int(device)
        self._envs: dict[str, TrtEnvironment] = {}
        if env is not None:
            self._envs = {"auto": env, env.flavour: env}

    def __repr__(self) -> str:
        return f"EngineCache({str(self.root)!r})"

    def environment(self, request: EngineRequest) -> TrtEnvironment:
        """The TensorRT environment for ``request.flavour`` (detected once, then reused)."""
        if request.flavour not in self._envs:
            self._envs[request.flavour] = detect_environment(request.flavour, device=self.device)
        return self._envs[request.flavour]

    def key(self, onnx_path: str | os.PathLike[str], request: EngineRequest | None = None) -> str:
        request = request or EngineRequest()
        return cache_key(read_onnx_source(onnx_path).sha256, request, self.environment(request))

    def engine_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.engine"

    def timing_cache_path(self, request: EngineRequest) -> Path:
        env = self.environment(request)
        sm = "-".join(resolve_targets(env, request))
        # Timings are per GPU model (an RTX 4090 and an L4 are both sm89), never shared across them.
        gpu = re.sub(r"[^A-Za-z0-9]+", "_", env.gpu.name).strip("_") if env.gpu else "aot"
        return self.root / "timing" / f"{env.flavour}-{env.version}-{sm}-{gpu}.cache"

    def lookup(self, onnx_path: str | os.PathLike[str], request: EngineRequest | None = None
               ) -> tuple[Path, dict[str, Any]] | None:
        """The cached engine for this request if there is a valid one (no build, no lock)."""
        request = request or EngineRequest()
        env = self.environment(request)
        expected = expected_sidecar_fields(read_onnx_source(onnx_path).sha256, request, env)
        path = self.engine_path(expected["cache_key"])
        if not path.exists():
            return None
        try:
            return path, check_engine(path, expected)
        except (EngineMismatchError, ModelNotFoundError) as e:
            log.info("cached engine not usable: %s", e)
            return None

    def get_or_build(self, onnx_path: str | os.PathLike[str],
                     request: EngineRequest | None = None) -> tuple[Path, dict[str, Any]]:
        """The engine for ``onnx_path`` + ``request``, built (once, under a lock) when needed.

        A valid cached engine is served without taking the lock, so a read-only cache works.
        """
        request = request or EngineRequest()
        onnx_path = Path(onnx_path)
        env = self.environment(request)
        source = read_onnx_source(onnx_path)  # hashed once; the build parses these bytes
        expected = expected_sidecar_fields(source.sha256, request, env)
        key = expected["cache_key"]
        path = self.engine_path(key)
        hit = self._valid(path, expected, quiet=True)
        if hit is not None:
            log.info("engine cache hit: %s", path)
            return path, hit
        try:
            with file_lock(self.root / "locks" / f"{key}.lock"):
                hit = self._valid(path, expected)  # another process may have built it meanwhile
                if hit is not None:
                    log.info("engine cache hit: %s", path)
                    return path, hit
                log.info("engine cache miss: building %s", path)
                _make_dir(path.parent)
                timing = self.timing_cache_path(request) if env.flavour == "tensorrt" else None
                sidecar = build_engine(onnx_path, path, request, env=env, timing_cache=timing,
                                       source=source)
        except RMNetError:
            raise
        except OSError as e:  # a read-only cache, or a folder where the engine should be
            raise EngineCacheError(f"cannot build into the engine cache {self.root}: {e} (set "
                                   "RMNET_CACHE_DIR to a writable folder)") from e
        if sidecar.get("onnx_sha256") != source.sha256:
            raise EngineMismatchError(f"{onnx_path} changed while its engine was being built")
        return path, sidecar

    @staticmethod
    def _valid(path: Path, expected: dict[str, Any], *, quiet: bool = False
               ) -> dict[str, Any] | None:
        """The sidecar of a usable cached engine at ``path``, else None (logged unless quiet)."""
        if not path.exists():
            return None
        try:
            return check_engine(path, expected)
        except (EngineMismatchError, ModelNotFoundError) as e:
            if not quiet:
                log.warning("rebuilding cached engine %s: %s", path, e)
            return None
