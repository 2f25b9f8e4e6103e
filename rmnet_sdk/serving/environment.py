"""The process environment PyTriton's ``tritonserver`` needs on a machine like this one.

Two traps sit between ``pip install nvidia-pytriton`` and a working server, both in Triton's
Python-backend stub (the process that relays requests between ``tritonserver`` and the Python
process running the model):

* The stub links ``libpython3.X.so`` dynamically and finds the distribution's copy (Debian's
  3.11.2) before the running interpreter's. Its standard library is then another patch release
  than the C library it runs on, and the model fails to load with ``AttributeError:
  '_thread.RLock' object has no attribute '_recursion_count'``. The running interpreter's own
  ``libpython`` (its ``sysconfig`` ``LIBDIR``) goes first on the server's ``LD_LIBRARY_PATH``.
* The stub of Triton 2.51 (PyTriton 0.7) is built against the NumPy 1 ABI: with NumPy 2 it loads
  and then reads and writes tensors wrongly (``[1, 2, 3]`` arrives as ``[1, 1, 1]``, outputs
  come back empty). PyTriton pins ``numpy<2`` for that reason, but this SDK runs on NumPy 2
  (OpenCV 4.12 requires it). Only the stub needs NumPy 1, so it gets a small environment of its
  own: a venv holding NumPy 1 and an ``ml_dtypes`` built for it, and a ``.pth`` file that adds
  the serving environment's site-packages (PyTriton, pyzmq, tritonclient) behind them. The stub
  finds its Python through ``python3`` on ``PATH``, which PyTriton sets from
  ``get_triton_python_backend_python_env()``; :func:`use_stub_env` points that at this venv.
  The model itself still runs in the serving process, on NumPy 2.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError

#: What the stub environment installs: NumPy 1 and the ``ml_dtypes`` that PyTriton's proxy
#: imports (through ``tritonclient.utils``); ml_dtypes 0.7+ needs NumPy 2.
STUB_REQUIREMENTS = ("numpy>=1.24,<2", "ml_dtypes>=0.5,<=0.5.4")
_PTH_NAME = "rmnet-serving-env.pth"


def _py_tag() -> str:
    return f"py{sys.version_info.major}{sys.version_info.minor}"


def default_stub_env() -> Path:
    """Where ``rmnet serve --prepare-stub-env`` puts the stub environment by default."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "rmnet-sdk" / f"triton-stub-{_py_tag()}"


def stub_env_needed() -> bool:
    """True when this interpreter runs NumPy 2, which the Triton 2.51 stub cannot use."""
    return int(np.__version__.split(".")[0]) >= 2


def _site_packages(env: Path) -> Path:
    return env / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _env_python(env: Path) -> Path:
    return env / "bin" / "python3"


def check_stub_env(env: Path) -> str | None:
    """``None`` when ``env`` is a usable stub environment for this interpreter, else why not."""
    if not (env / "pyvenv.cfg").is_file() or not _env_python(env).exists():
        return f"{env} is not a stub environment (no pyvenv.cfg or bin/python3)"
    probe = ("import numpy, zmq, ml_dtypes, tritonclient.utils, sys; "
             "sys.exit(0 if int(numpy.__version__.split('.')[0]) < 2 else 3)")
    try:
        result = subprocess.run([str(_env_python(env)), "-c", probe], capture_output=True,
                                text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{env}/bin/python3 does not run: {e}"
    if result.returncode == 3:
        return f"{env} imports NumPy 2; the Triton stub needs NumPy 1"
    if result.returncode:
        tail = result.stderr.strip().splitlines()[-1:] or ["(no output)"]
        return f"{env} cannot import the stub's modules: {tail[0]}"
    return None


def _serving_site_dirs() -> list[str]:
    """This environment's site-packages, which the stub imports PyTriton and pyzmq from."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    return list(dict.fromkeys(d for d in dirs if Path(d).is_dir()))


def prepare_stub_env(env: Path | None = None, *, pip_args: tuple[str, ...] = ()) -> Path:
    """Create (or re-create) the stub environment at ``env`` with pip; returns its path.

    Built beside the target and renamed into place, so a failed install never leaves a
    half-made environment where :func:`resolve_stub_env` would pick it up.
    """
    env = Path(env or default_stub_env()).absolute()
    env.parent.mkdir(parents=True, exist_ok=True)
    staging = env.with_name(env.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(staging)
    target = _site_packages(staging)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--target", str(target), *pip_args, *STUB_REQUIREMENTS]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        shutil.rmtree(staging, ignore_errors=True)
        raise BackendUnavailableError(
            f"could not install {' '.join(STUB_REQUIREMENTS)} for the Triton stub "
            f"({' '.join(cmd)}):\n{result.stderr.strip()[-2000:]}")
    (target / _PTH_NAME).write_text("\n".join(_serving_site_dirs()) + "\n")
    why = check_stub_env(staging)
    if why:
        shutil.rmtree(staging, ignore_errors=True)
        raise BackendUnavailableError(f"the new stub environment does not work: {why}")
    old = env.with_name(env.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if env.exists():
        env.rename(old)
    staging.rename(env)
    shutil.rmtree(old, ignore_errors=True)
    return env


def resolve_stub_env(env: Path | str | None) -> Path | None:
    """The stub environment to use: ``None`` when this interpreter's own NumPy will do."""
    if env is None and not stub_env_needed():
        return None
    path = Path(env or default_stub_env()).absolute()
    why = check_stub_env(path)
    if why:
        raise BackendUnavailableError(
            f"Triton's Python-backend stub needs NumPy 1 and this environment runs NumPy "
            f"{np.__version__}: {why}. Create it once with `rmnet serve --prepare-stub-env"
            f"{'' if env is None else ' --stub-env ' + str(path)}` (pip installs "
            f"{' and '.join(STUB_REQUIREMENTS)} there).")
    return path


def own_libpython_dir() -> str | None:
    """The running interpreter's ``libpython`` folder, when it has a shared library there."""
    libdir = sysconfig.get_config_var("LIBDIR")
    ldlibrary = sysconfig.get_config_var("LDLIBRARY") or ""
    if libdir and ldlibrary.endswith(".so") and any(Path(libdir).glob(ldlibrary + "*")):
        return str(libdir)
    return None


@contextlib.contextmanager
def triton_environment(stub_env: Path | None) -> Iterator[None]:
    """Within this block, PyTriton starts ``tritonserver`` with the environment it needs.

    PyTriton copies ``os.environ`` for the server process, so the library path is set there
    (only child processes read it) and restored on exit.
    """
    from pytriton.server import triton_server

    saved_ld = os.environ.get("LD_LIBRARY_PATH")
    saved_env_fn = triton_server.get_triton_python_backend_python_env
    libdir = own_libpython_dir()
    try:
        if libdir:
            os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, saved_ld) if p)
        if stub_env is not None:
            triton_server.get_triton_python_backend_python_env = lambda: stub_env
        yield
    finally:
        triton_server.get_triton_python_backend_python_env = saved_env_fn
        if saved_ld is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = saved_ld
