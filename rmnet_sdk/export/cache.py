"""A content-addressed cache of TensorRT engines, safe across processes.

Key (:func:`rmnet_sdk.export.tensorrt.cache_key`): sha256 over the ONNX file's sha256, the
TensorRT flavour and version, the compute capabilities built for (and the GPU name when the build
is for the local GPU), the precision, the optimisation profiles, the builder optimisation level,
the hardware-compatibility level and the workspace limit.

Location: ``$RMNET_CACHE_DIR/engines`` when ``RMNET_CACHE_DIR`` is set, else
``$XDG_CACHE_HOME/rmnet-sdk/engines``, else ``~/.cache/rmnet-sdk/engines``. Layout::

    <root>/<key[:2]>/<key>.engine        the serialized engine
    <root>/<key[:2]>/<key>.engine.json   its sidecar
    <root>/locks/<key>.lock              flock'ed while an entry is checked or built
    <root>/timing/<flavour>-<version>-<sm>.cache   timing cache per GPU + TensorRT version

Engines and sidecars are written atomically; a lock file (``fcntl.flock``) makes a second
process wait for the first one's build instead of building the same engine again. An entry is
only returned when its sidecar matches the request *and* the engine file's sha256 matches the
sidecar; anything else is rebuilt (with a log line saying why).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import EngineMismatchError, ModelNotFoundError
from ._common import log, sha256_file
from .tensorrt import (
    EngineRequest,
    TrtEnvironment,
    build_engine,
    cache_key,
    check_engine,
    detect_environment,
    expected_sidecar_fields,
    resolve_targets,
)


def default_cache_dir() -> Path:
    """Where engines are cached (see the module docstring)."""
    env = os.environ.get("RMNET_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "engines"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rmnet-sdk" / "engines"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if needed); waits for other holders.

    flock locks belong to the open file description, so two threads of one process exclude each
    other too. Where ``fcntl`` does not exist (Windows) this degrades to no locking.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        log.warning("no fcntl on this platform: engine cache builds are not locked")
        yield
        return
    with open(path, "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process building this engine (lock %s)", path)
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class EngineCache:
    """``EngineCache(root).get_or_build(onnx_path, request) -> (engine_path, sidecar)``."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *,
                 env: TrtEnvironment | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self._envs: dict[str, TrtEnvironment] = {}
        if env is not None:
            self._envs = {"auto": env, env.flavour: env}

    def __repr__(self) -> str:
        return f"EngineCache({str(self.root)!r})"

    def environment(self, request: EngineRequest) -> TrtEnvironment:
        """The TensorRT environment for ``request.flavour`` (detected once, then reused)."""
        if request.flavour not in self._envs:
            self._envs[request.flavour] = detect_environment(request.flavour)
        return self._envs[request.flavour]

    @staticmethod
    def _onnx_sha(onnx_path: str | os.PathLike[str]) -> str:
        path = Path(onnx_path)
        if not path.is_file():
            raise ModelNotFoundError(f"ONNX model not found: {path}")
        return sha256_file(path)

    def key(self, onnx_path: str | os.PathLike[str], request: EngineRequest | None = None) -> str:
        request = request or EngineRequest()
        return cache_key(self._onnx_sha(onnx_path), request, self.environment(request))

    def engine_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.engine"

    def timing_cache_path(self, request: EngineRequest) -> Path:
        env = self.environment(request)
        sm = "-".join(resolve_targets(env, request))
        return self.root / "timing" / f"{env.flavour}-{env.version}-{sm}.cache"

    def lookup(self, onnx_path: str | os.PathLike[str], request: EngineRequest | None = None
               ) -> tuple[Path, dict[str, Any]] | None:
        """The cached engine for this request if there is a valid one (no build, no lock)."""
        request = request or EngineRequest()
        env = self.environment(request)
        onnx_sha = self._onnx_sha(onnx_path)
        path = self.engine_path(cache_key(onnx_sha, request, env))
        if not path.exists():
            return None
        try:
            return path, check_engine(path, expected_sidecar_fields(onnx_sha, request, env))
        except (EngineMismatchError, ModelNotFoundError) as e:
            log.info("cached engine not usable: %s", e)
            return None

    def get_or_build(self, onnx_path: str | os.PathLike[str],
                     request: EngineRequest | None = None) -> tuple[Path, dict[str, Any]]:
        """The engine for ``onnx_path`` + ``request``, built (once, under a lock) when needed."""
        request = request or EngineRequest()
        onnx_path = Path(onnx_path)
        env = self.environment(request)
        onnx_sha = self._onnx_sha(onnx_path)
        key = cache_key(onnx_sha, request, env)
        expected = expected_sidecar_fields(onnx_sha, request, env)
        path = self.engine_path(key)
        with file_lock(self.root / "locks" / f"{key}.lock"):
            if path.exists():
                try:
                    sidecar = check_engine(path, expected)
                    log.info("engine cache hit: %s", path)
                    return path, sidecar
                except (EngineMismatchError, ModelNotFoundError) as e:
                    log.warning("rebuilding cached engine %s: %s", path, e)
            else:
                log.info("engine cache miss: building %s", path)
            timing = self.timing_cache_path(request) if env.flavour == "tensorrt" else None
            sidecar = build_engine(onnx_path, path, request, env=env, timing_cache=timing)
            if sidecar.get("onnx_sha256") != onnx_sha:
                raise EngineMismatchError(f"{onnx_path} changed while its engine was being built")
            return path, sidecar
