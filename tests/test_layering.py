"""Layering: the runtime never loads the build toolchain, and every module imports on its own.

Each check runs in a fresh interpreter (``python -c``): in the pytest process other tests have
already imported TensorFlow, export and training, so ``sys.modules`` here proves nothing.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rmnet_sdk

#: Module name prefixes that belong to the toolchain (export, training, and what they pull in).
TOOLCHAIN_PREFIXES = ("rmnet_sdk.export", "rmnet_sdk.training", "tensorflow", "tf2onnx", "keras")

_INFER_AND_LIST_MODULES = """
import json, sys
import numpy as np
import rmnet_sdk
inp = rmnet_sdk.Inpainter({model}, backend={backend!r})
rng = np.random.default_rng(0)
image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
mask = np.zeros((48, 64), dtype=np.uint8)
mask[16:32, 20:44] = 255
out = inp.run(image, mask)
assert out.shape == image.shape and out.dtype == np.uint8, (out.shape, out.dtype)
print(json.dumps(sorted(sys.modules)))
"""


def _python(code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=Path(rmnet_sdk.__file__).resolve().parents[1])


def _toolchain_modules_after_inference(backend: str, model: str) -> list[str]:
    proc = _python(_INFER_AND_LIST_MODULES.format(backend=backend, model=model))
    assert proc.returncode == 0, proc.stderr[-4000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    return [m for m in loaded
            if any(m == p or m.startswith(p + ".") for p in TOOLCHAIN_PREFIXES)]


def test_onnxruntime_inference_loads_no_toolchain():
    loaded = _toolchain_modules_after_inference("onnxruntime", 'precision="fp32"')
    assert loaded == []


def test_native_inference_loads_no_toolchain(tmp_path):
    """The native runtime's CPU path is OpenCV DNN, whose ONNX importer (4.6) cannot parse the
    bundled model's prefill graph, so this runs the tiny R-MNet-shaped model the C++ tests use:
    the modules the Python side loads around the runtime do not depend on the model."""
    from conftest import tiny_onnx_module

    from rmnet_sdk.backends import available_backends

    why = available_backends().get("native")
    if why is not None:
        pytest.skip(f"native backend unavailable: {why}")
    from rmnet_sdk import _native

    if not _native.WITH_OPENCV:
        pytest.skip("rmnet_sdk._native was built without OpenCV (no CPU backend)")
    tiny = tiny_onnx_module()
    model = tiny.build(tmp_path / "tiny.onnx")
    assert _toolchain_modules_after_inference("native", f"model={str(model)!r}") == []


def test_keras_inference_loads_no_export_or_training(tmp_path):
    """The ``keras`` backend runs a ``.keras`` generator with Keras as its engine (TensorFlow and
    Keras load, as they must), but reading the file needs neither the export nor the training
    code. The generator has the prefill layers, so their registration is exercised too."""
    pytest.importorskip("tensorflow")
    import keras

    from rmnet_sdk.metadata import ModelMetadata
    from rmnet_sdk.training.checkpoint import save_generator
    from rmnet_sdk.training.model import build_generator

    keras.utils.set_random_seed(0)
    path = save_generator(build_generator(4, mask_channel=True, prefill=True),
                          tmp_path / "tiny.keras",
                          ModelMetadata(resolution=64, gf=4, mask_channel=True))
    proc = _python(_INFER_AND_LIST_MODULES.format(backend="keras", model=repr(str(path))))
    assert proc.returncode == 0, proc.stderr[-4000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "keras" in loaded  # the backend really ran on Keras
    assert [m for m in loaded if any(m == p or m.startswith(p + ".") for p in
                                     ("rmnet_sdk.export", "rmnet_sdk.training", "tf2onnx"))] == []


def _all_module_names() -> list[str]:
    root = Path(rmnet_sdk.__file__).resolve().parent
    names = ["rmnet_sdk"]
    for info in pkgutil.walk_packages([str(root)], prefix="rmnet_sdk."):
        names.append(info.name)
    return sorted(names)


def test_every_module_imports_in_sorted_order():
    """Import every ``rmnet_sdk`` module, in sorted order, in one fresh interpreter.

    A cycle between two modules surfaces as an ImportError (a partly initialised module) when the
    cycle is entered from the wrong side; a sorted walk enters each package from its top first.
    """
    names = [n for n in _all_module_names()
             if n != "rmnet_sdk._rmnet_native" and not n.endswith("__main__")]
    code = (
        "import importlib, json, traceback\n"
        f"names = {names!r}\n"
        "failures = {}\n"
        "for n in names:\n"
        "    try:\n"
        "        importlib.import_module(n)\n"
        "    except Exception as e:\n"
        "        failures[n] = f'{type(e).__name__}: {e}'\n"
        "print(json.dumps(failures))\n"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr[-4000:]
    failures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert failures == {}


# -- static import rules ---------------------------------------------------------------------------

REPO = Path(rmnet_sdk.__file__).resolve().parents[1]

#: Runtime modules allowed to import the toolchain, each with why; the list only shrinks. An entry
#: whose module no longer imports the toolchain fails the test below, so it cannot go stale.
RUNTIME_TOOLCHAIN_ALLOWLIST: dict[str, str] = {
    # rmnet bench's optional TF-Keras rows rebuild the generator of an .onnx with the training
    # code (builder + fine-tuning importer); the rows are skipped where TensorFlow is missing
    "rmnet_sdk/bench/tf_reference.py": "TF-Keras reference rows of rmnet bench",
}


def _source_modules() -> dict[str, Path]:
    """Dotted module name -> file, for the runtime package and the training package (installed
    as ``rmnet_sdk.training`` from ``training/``)."""
    found = {}
    for root, package in ((REPO / "rmnet_sdk", "rmnet_sdk"), (REPO / "training", "rmnet_sdk.training")):
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every import anywhere in the file (module level and inside
    functions), relative imports resolved; ``from a import b`` yields ``a`` and ``a.b``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_import_resolver_sees_relative_and_nested_imports(tmp_path):
    """The scanner below is only as good as this: relative imports resolve against the package,
    and imports inside functions are found."""
    path = tmp_path / "keras.py"
    path.write_text("def f():\n    from ..export.onnx import load_onnx\n    import rmnet_sdk.training\n")
    names = {n for _, n in _imports("rmnet_sdk.backends.keras", path)}
    assert {"rmnet_sdk.export.onnx", "rmnet_sdk.export.onnx.load_onnx", "rmnet_sdk.training"} <= names


def test_export_never_imports_training():
    bad = [f"{_rel(path)}:{line} imports {name}"
           for module, path in _source_modules().items() if _within(module, "rmnet_sdk.export")
           for line, name in _imports(module, path) if _within(name, "rmnet_sdk.training")]
    assert bad == []


def test_training_uses_only_the_public_export_api():
    """Training may use what ``rmnet_sdk.export`` exports, and the export's command-line
    modules (public entry points, see pyproject's scripts), never its internal modules."""
    import rmnet_sdk.export as export

    commands = set(re.findall(r'"(rmnet_sdk\.export\.[\w.]+):\w+"',
                              (REPO / "pyproject.toml").read_text()))
    assert commands, "pyproject.toml names no rmnet_sdk.export command"
    public = {"rmnet_sdk.export", *commands, *(f"rmnet_sdk.export.{n}" for n in export.__all__)}

    def allowed(name: str) -> bool:  # a public name, or a name taken from a command's module
        return name in public or name.rpartition(".")[0] in commands

    bad = [f"{_rel(path)}:{line} imports {name}"
           for module, path in _source_modules().items() if _within(module, "rmnet_sdk.training")
           for line, name in _imports(module, path)
           if _within(name, "rmnet_sdk.export") and not allowed(name)]
    assert bad == []


def test_runtime_never_imports_the_toolchain():
    """No runtime module imports ``rmnet_sdk.export`` or ``rmnet_sdk.training``, at module level
    or inside a function, except the allowlisted ones (which must still need it)."""
    offenders: dict[str, list[str]] = {}
    for module, path in _source_modules().items():
        if _within(module, "rmnet_sdk.export") or _within(module, "rmnet_sdk.training"):
            continue
        hits = [f"{line}: {name}" for line, name in _imports(module, path)
                if _within(name, "rmnet_sdk.export") or _within(name, "rmnet_sdk.training")]
        if hits:
            offenders[_rel(path)] = hits
    assert sorted(set(offenders) - set(RUNTIME_TOOLCHAIN_ALLOWLIST)) == [], offenders
    stale = sorted(set(RUNTIME_TOOLCHAIN_ALLOWLIST) - set(offenders))
    assert stale == [], f"no longer import the toolchain: remove {stale} from the allowlist"


# -- import cycles, and what rmnet bench loads ----------------------------------------------------

#: Modules that must sit in no import cycle: the command line, the benchmark (it once imported
#: the CLI for the machine facts while the CLI imported it) and the small modules both use.
ACYCLIC_MODULES = ("rmnet_sdk.cli", "rmnet_sdk.bench", "rmnet_sdk.machine", "rmnet_sdk._argtypes")


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules its file imports, anywhere in it.

    Imports inside functions count: a lazy import still closes a cycle, it only moves the
    partly-initialised-module error to the first call that takes it. Imports of an enclosing
    package do not: Python initialises a package before its modules, so that edge is never
    entered from the wrong side.
    """
    modules = _source_modules()
    return {module: {name for _, name in _imports(module, path)
                     if name in modules and name != module and not _within(module, name)}
            for module, path in modules.items()}


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A shortest import chain from ``start`` back to ``start``, or None."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for dep in sorted(graph.get(module, ())):
                if dep == start:
                    chain = [module]
                    while chain[-1] != start:
                        chain.append(parent[chain[-1]])
                    return [start, *reversed(chain[:-1]), start]
                if dep not in parent:
                    parent[dep] = module
                    following.append(dep)
        frontier = following
    return None


def test_cycle_finder_finds_lazy_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert _cycle_through(graph, "a") == ["a", "b", "c", "a"]
    assert _cycle_through(graph, "d") is None
    path = REPO / "rmnet_sdk" / "bench" / "runner.py"  # imports the machine facts, not the CLI
    names = {n for _, n in _imports("rmnet_sdk.bench.runner", path)}
    assert "rmnet_sdk.machine" in names and "rmnet_sdk.cli" not in names


@pytest.mark.parametrize("package", ACYCLIC_MODULES)
def test_no_import_cycle_through(package):
    graph = _import_graph()
    members = sorted(m for m in graph if _within(m, package))
    assert members, f"no module {package}"
    cycles = {m: " -> ".join(chain) for m in members if (chain := _cycle_through(graph, m))}
    assert cycles == {}


_BENCH_AND_LIST_MODULES = """
import json, sys
from rmnet_sdk.cli import main
rc = main(["bench", "--backends", "onnxruntime", "--sizes", "32", "--batches", "1",
           "--references", "telea", "--warmup", "1", "--iterations", "1",
           "--min-seconds", "0", "--rounds", "1", "-o", {out!r}])
assert rc == 0, rc
print(json.dumps(sorted(sys.modules)))
"""


def test_rmnet_bench_loads_no_toolchain(tmp_path):
    """``rmnet bench`` without TF-Keras rows (ONNX Runtime and OpenCV Telea, one 32x32 case
    timed once) runs on an edge install: no export, training or TensorFlow module is loaded.
    The interpreter imports ``rmnet_sdk.cli`` before ``rmnet_sdk.bench``, the reverse of the
    sorted walk above, so both orders are exercised."""
    proc = _python(_BENCH_AND_LIST_MODULES.format(out=str(tmp_path / "bench")))
    assert proc.returncode == 0, proc.stderr[-4000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "rmnet_sdk.bench" in loaded and "rmnet_sdk.cli" in loaded
    toolchain = [m for m in loaded if any(m == p or m.startswith(p + ".") for p in TOOLCHAIN_PREFIXES)]
    assert toolchain == []
    report = json.loads((tmp_path / "bench" / "bench.json").read_text())
    rows = {r["key"]: r for r in report["rows"]}
    for key in ("onnxruntime/fp32/model/32x32/b1", "onnxruntime/fp32/e2e/32x32/b1",
                "opencv-telea/uint8/e2e/32x32/b1"):
        assert key in rows and "error" not in rows[key], key
