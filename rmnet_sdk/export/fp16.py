"""fp32 ONNX -> fully fp16 ONNX, gated on real photos and on activation ranges.

The converter is ``onnxruntime.transformers.float16.convert_float_to_float16`` (ships with
onnxruntime): every op runs in fp16 and the only ``Cast`` nodes sit at the graph IO, which is what
a strongly typed TensorRT build wants (research/feasibility.md §3). Precision then lives in the
ONNX, the one policy that works on TensorRT 10.x, 11.x and TensorRT-RTX alike.

Gates (all on by default, :class:`~rmnet_sdk.errors.ExportError` when violated):

* **activation range**: the fp32 model runs in ONNX Runtime with every intermediate tensor exposed
  on the gate images; the largest ``|activation|`` per node is reported and the conversion fails
  when any exceeds ``activation_limit`` (default 60000, about 8 % under fp16's max 65504: fp16
  cannot represent 65520 and above, so a tensor that close to the limit on a few photos will
  overflow to Inf on some other photo);
* **no NaN/Inf** in the fp16 prediction (:class:`~rmnet_sdk.errors.ParityError`);
* **PSNR**: fp16 vs fp32 *composited* uint8 outputs (known pixels from the photo, holes from the
  network, as the SDK serves them) on ``n_photos`` photos with generated hole masks; the worst
  photo must reach ``min_psnr`` (default 45 dB; :class:`~rmnet_sdk.errors.ParityError`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .._ort import create_session
from ..errors import ExportError, InvalidInputError, ParityError
from ._common import (
    check_spatial_size,
    default_photos_dir,
    log,
    progress_iter,
    same_file,
    sha256_bytes,
    write_atomic,
)
from .onnx import (
    check_io_contract,
    load_onnx,
    onnx_precision,
    parameter_tensors,
    read_onnx_metadata,
    write_onnx_metadata,
)

#: fp16's largest finite value.
FP16_MAX = 65504.0
#: Default gate on |activation| in the fp32 model (see the module docstring).
DEFAULT_ACTIVATION_LIMIT = 60000.0
DEFAULT_MIN_PSNR = 45.0
DEFAULT_N_PHOTOS = 20
_MASK_KINDS = ("strokes", "irregular", "boxes")
#: ``photos_dir`` value that selects synthetic gate images.
SYNTHETIC = "synthetic"


@dataclasses.dataclass
class Fp16Report:
    """What :func:`convert_fp16` measured."""

    path: Path | None
    onnx_sha256: str
    keep_io_types: bool
    cast_nodes: int
    corpus: str                         # folder of the gate photos, or "synthetic"
    n_images: int
    resolution: int
    psnr_min: float                     # composited uint8, fp16 vs fp32, worst image
    psnr_pooled: float                  # from the MSE over all images together
    hole_psnr_min: float                # the same over the hole pixels only
    max_abs_diff: float                 # raw prediction, fp16 vs fp32
    nonfinite: int                      # NaN/Inf values in fp16 predictions
    activation_limit: float
    max_activation: float
    max_activation_node: str
    activations: list[dict[str, Any]]   # per node, largest first: node, op, tensor, max_abs
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path) if self.path else None
        return d


# -- conversion ----------------------------------------------------------------------------------

def to_fp16(model: onnx.ModelProto, *, keep_io_types: bool = True) -> onnx.ModelProto:
    """Convert a fp32 model to a fully fp16 graph (IO stays fp32 when ``keep_io_types``).

    Raises :class:`ExportError` if the result is not fully fp16: a ``Cast`` away from the graph
    IO, a fp32 weight, or a weight that overflowed fp16.
    """
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    # The converter keeps Min/Max in fp32 by default (for ML-ops graphs); here they are the
    # prefill's clamps (max(weight, eps), min(weight / support, 1)), exact enough in fp16 --
    # the PSNR gate below measures it -- and keeping them fp32 would put Casts inside the graph.
    block = [op for op in DEFAULT_OP_BLOCK_LIST if op not in ("Min", "Max")]

    if onnx_precision(model) != "fp32":
        raise InvalidInputError(f"expected a fp32 ONNX model, got {onnx_precision(model)} weights")
    meta = read_onnx_metadata(model)
    try:
        half = convert_float_to_float16(model, keep_io_types=keep_io_types,
                                        disable_shape_infer=False, op_block_list=block)
    except Exception as e:
        raise ExportError(f"fp16 conversion failed: {type(e).__name__}: {e}") from e
    write_onnx_metadata(half, meta)
    toposort(half.graph)  # the converter appends its IO casts at the end of the node list
    try:
        onnx.checker.check_model(half, full_check=True)
    except Exception as e:
        raise ExportError(f"the fp16 graph does not check: {e}") from e
    problems = fp16_problems(half)
    if problems:
        raise ExportError("the fp16 graph is not fully fp16: " + "; ".join(problems[:6]))
    return half


def toposort(graph: onnx.GraphProto) -> None:
    """Order ``graph.node`` topologically, in place (stable: keeps the order where it can)."""
    available = {vi.name for vi in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    ordered: list[onnx.NodeProto] = []
    while pending:
        rest = []
        for node in pending:
            if all(name in available for name in node.input):
                ordered.append(node)
                available.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise ExportError(f"the graph has a cycle or a dangling input at {rest[0].name}")
        pending = rest
    copies = [onnx.NodeProto() for _ in ordered]
    for c, n in zip(copies, ordered, strict=True):
        c.CopyFrom(n)
    del graph.node[:]
    graph.node.extend(copies)


def fp16_problems(model: onnx.ModelProto) -> list[str]:
    """Why ``model`` is not a fully fp16 graph with casts only at its IO (empty = it is)."""
    graph = model.graph
    io_in = {vi.name for vi in graph.input}
    io_out = {vi.name for vi in graph.output}
    params = parameter_tensors(model)
    problems = []
    for t in graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT and t.name not in params:
            problems.append(f"weight {t.name} is fp32")
        elif t.data_type == onnx.TensorProto.FLOAT16:
            arr = onnx.numpy_helper.to_array(t)
            if not np.isfinite(arr).all():
                problems.append(f"weight {t.name} overflows fp16")
    for node in graph.node:
        if node.op_type == "Cast" and not (set(node.input) & io_in or set(node.output) & io_out):
            problems.append(f"Cast {node.name or node.output[0]} inside the graph")
    return problems


# -- gate data -----------------------------------------------------------------------------------

def gate_images(photos_dir: str | os.PathLike[str] | None, n: int, size: int,
                ) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """``n`` uint8 RGB ``size x size`` images with bool hole masks, and the corpus name.

    Photos are picked evenly over the sorted folder listing and resized (INTER_AREA); masks come
    from :func:`rmnet_sdk.mask_generators.make_mask` (strokes / irregular / boxes in turn,
    seed = index).
    Without a folder, structured synthetic images are used (logged as a warning).
    """
    from ..imaging import list_images, read_image, resize_image
    from ..mask_generators import make_mask

    check_spatial_size(size, size)
    if n < 1:
        raise InvalidInputError(f"the fp16 gate needs at least one image, got n={n}")
    images: list[np.ndarray] = []
    corpus = "synthetic"
    if photos_dir is not None:
        folder = Path(photos_dir)
        if not folder.is_dir():
            raise InvalidInputError(f"photo folder not found: {folder}")
        files = sorted(list_images(folder))
        if not files:
            raise InvalidInputError(f"no images in {folder}")
        picks = [files[i * len(files) // min(n, len(files))] for i in range(min(n, len(files)))]
        images = [resize_image(read_image(p), (size, size)) for p in picks]
        corpus = str(folder)
        if len(images) < n:
            log.warning("only %d photos in %s (asked for %d)", len(images), folder, n)
    else:
        log.warning("no photo corpus for the fp16 gate: using %d synthetic images "
                    "(pass photos_dir / --photos for a meaningful gate)", n)
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        for _ in range(n):
            f = rng.uniform(2, 12, 3)
            img = 0.5 + 0.5 * np.stack([np.sin(f[0] * xx), np.cos(f[1] * yy),
                                        np.sin(f[2] * (xx + yy))], -1)
            img += rng.normal(0, 0.05, img.shape)
            images.append((np.clip(img, 0, 1) * 255).astype(np.uint8))
    holes = [make_mask(_MASK_KINDS[i % 3], (size, size), seed=i) for i in range(len(images))]
    return images, holes, corpus


def _to_tensors(image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A batch of one, holes zeroed as the runtime feeds it (the gate must see what users run)."""
    from ..imaging import to_model_inputs

    x, m = to_model_inputs(image, hole)
    return x[None], m[None]


def _composite(image: np.ndarray, pred_nchw: np.ndarray, hole: np.ndarray) -> np.ndarray:
    from ..imaging import composite, from_model_range

    fill = from_model_range(np.nan_to_num(pred_nchw[0].transpose(1, 2, 0)))
    return composite(image, fill, hole)


# -- activations ---------------------------------------------------------------------------------

def with_all_outputs(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, tuple[str, str]]]:
    """A copy of a float model exposing every float node output as a graph output.

    Returns the copy and ``tensor -> (node name, op type)``.
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in
             [*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input]}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    existing = {o.name for o in out.graph.output}
    owners: dict[str, tuple[str, str]] = {}
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    for i, node in enumerate(out.graph.node):
        for name in node.output:
            if not name or types.get(name) not in floats:
                continue
            owners[name] = (node.name or f"{node.op_type}_{i}", node.op_type)
            if name not in existing:
                out.graph.output.append(onnx.helper.make_tensor_value_info(name, types[name], None))
                existing.add(name)
    return out, owners


# -- the gate ------------------------------------------------------------------------------------

def fp16_gate(fp32: onnx.ModelProto, fp16: onnx.ModelProto, *,
              photos_dir: str | os.PathLike[str] | None = None,
              n_photos: int = DEFAULT_N_PHOTOS, resolution: int | None = None,
              min_psnr: float = DEFAULT_MIN_PSNR,
              activation_limit: float = DEFAULT_ACTIVATION_LIMIT,
              progress: bool = False) -> dict[str, Any]:
    """Run both models on the gate images; raise on overflow risk, NaN/Inf or low PSNR.

    Returns the measurements (see :class:`Fp16Report` for the fields).
    """
    from ..metrics import psnr

    if activation_limit > FP16_MAX:
        raise InvalidInputError(f"activation_limit {activation_limit} exceeds fp16's max {FP16_MAX}")
    size = int(resolution or read_onnx_metadata(fp32).resolution or 256)
    images, holes, corpus = gate_images(photos_dir, n_photos, size)
    probe, owners = with_all_outputs(fp32)
    s32 = create_session(probe.SerializeToString(), optimize=False, what="the fp32 model")
    s16 = create_session(fp16.SerializeToString(), what="the fp16 model")
    in16 = {i.name: i.type for i in s16.get_inputs()}
    out_names = [o.name for o in s32.get_outputs()]
    act_max: dict[str, float] = dict.fromkeys(owners, 0.0)
    psnrs, hole_psnrs, diffs, nonfinite, sq_sum, n_px = [], [], [], 0, 0.0, 0
    for image, hole in progress_iter(zip(images, holes, strict=True), desc="fp16 gate",
                                     total=len(images), enable=progress):
        x, m = _to_tensors(image, hole)
        results = dict(zip(out_names, s32.run(out_names, {"image": x, "mask": m}), strict=True))
        for name in owners:
            v = results[name]
            if v.size:
                a = float(np.max(np.abs(v)))
                act_max[name] = max(act_max[name], a if np.isfinite(a) else float("inf"))
        ref = results["prediction"].astype(np.float32)
        feeds = {"image": x, "mask": m}
        if in16["image"] == "tensor(float16)":
            feeds = {k: v.astype(np.float16) for k, v in feeds.items()}
        got = s16.run(["prediction"], feeds)[0].astype(np.float32)
        bad = int(np.count_nonzero(~np.isfinite(got)))
        nonfinite += bad
        diffs.append(float(np.max(np.abs(np.nan_to_num(got, nan=9.0) - ref))))
        a_u8, b_u8 = _composite(image, ref, hole), _composite(image, got, hole)
        psnrs.append(psnr(a_u8, b_u8))
        sq_sum += float(np.sum((a_u8.astype(np.float64) - b_u8) ** 2))
        n_px += a_u8.size
        hole_psnrs.append(psnr(a_u8, b_u8, hole) if hole.any() else float("inf"))
    ranking = sorted(((v, t) for t, v in act_max.items()), reverse=True)
    activations = [{"node": owners[t][0], "op": owners[t][1], "tensor": t, "max_abs": v}
                   for v, t in ranking]
    top = activations[0] if activations else {"node": "", "max_abs": 0.0}
    result = {
        "corpus": corpus, "n_images": len(images), "resolution": size,
        "psnr_min": float(min(psnrs)), "psnr_pooled": (float(10 * np.log10(255.0**2 * n_px / sq_sum)) if sq_sum
                        else float("inf")),
        "hole_psnr_min": float(min(hole_psnrs)), "max_abs_diff": float(max(diffs)),
        "nonfinite": nonfinite, "activation_limit": float(activation_limit),
        "max_activation": float(top["max_abs"]), "max_activation_node": str(top["node"]),
        "activations": activations,
    }
    log.info("largest fp32 activations: %s", ", ".join(
        f"{a['node']} ({a['op']}) {a['max_abs']:.4g}" for a in activations[:5]))
    over = [a for a in activations if not a["max_abs"] <= activation_limit]
    if over:
        raise ExportError(
            f"fp16 overflow risk: {len(over)} activation(s) exceed {activation_limit:g} "
            f"(fp16 max {FP16_MAX:g}): " + ", ".join(
                f"{a['node']} ({a['op']}) = {a['max_abs']:.6g}" for a in over[:5])
            + ". Keep this model in fp32, or retrain/rescale so activations stay smaller.")
    if nonfinite:
        raise ParityError(f"the fp16 model produced {nonfinite} NaN/Inf prediction values")
    log.info("fp16 vs fp32 composited PSNR on %d images (%s, %dx%d): min %.2f dB, pooled %.2f dB; "
             "hole-only min %.2f dB; max |diff| %.3g", len(images), corpus, size, size,
             result["psnr_min"], result["psnr_pooled"], result["hole_psnr_min"],
             result["max_abs_diff"])
    if not result["psnr_min"] >= min_psnr:
        raise ParityError(f"fp16 vs fp32 composited PSNR {result['psnr_min']:.2f} dB on the worst "
                          f"image is below the gate of {min_psnr:g} dB")
    return result


def convert_fp16(source: str | os.PathLike[str] | onnx.ModelProto,
                 output: str | os.PathLike[str] | None, *, keep_io_types: bool = True,
                 photos_dir: str | os.PathLike[str] | None = None,
                 n_photos: int = DEFAULT_N_PHOTOS, resolution: int | None = None,
                 min_psnr: float = DEFAULT_MIN_PSNR,
                 activation_limit: float = DEFAULT_ACTIVATION_LIMIT,
                 overwrite: bool = True, progress: bool = False,
                 ) -> tuple[onnx.ModelProto, Fp16Report]:
    """Convert a fp32 R-MNet ONNX to fp16, run the gates, write ``output`` atomically.

    ``keep_io_types=True`` keeps fp32 IO (casts inside the graph), ``False`` makes the IO fp16
    too. ``photos_dir`` defaults to :func:`default_photos_dir` (``$RMNET_PHOTOS_DIR``), else
    synthetic images; ``"synthetic"`` asks for the synthetic images explicitly (a quick check,
    not a meaningful gate). ``resolution`` defaults to the model's metadata. With ``output=None`` nothing is written.
    """
    t0 = time.perf_counter()
    if output is not None:
        output = Path(output)
        if isinstance(source, (str, os.PathLike)) and same_file(source, output):
            raise InvalidInputError(f"refusing to overwrite the input {source} with the fp16 model")
        if not overwrite and output.exists():
            raise InvalidInputError(f"{output} exists; pass overwrite=True (CLI: --force)")
    fp32 = source if isinstance(source, onnx.ModelProto) else load_onnx(source)
    check_io_contract(fp32, str(source) if not isinstance(source, onnx.ModelProto) else "model")
    if photos_dir is None:
        photos_dir = default_photos_dir()
    elif str(photos_dir) == SYNTHETIC:
        photos_dir = None
    log.info("converting to fp16 (%s IO)", "fp32" if keep_io_types else "fp16")
    half = to_fp16(fp32, keep_io_types=keep_io_types)
    gate = fp16_gate(fp32, half, photos_dir=photos_dir, n_photos=n_photos, resolution=resolution,
                     min_psnr=min_psnr, activation_limit=activation_limit, progress=progress)
    blob = half.SerializeToString()
    if output is not None:
        write_atomic(output, blob, overwrite=overwrite)
        log.info("wrote %s (%.1f MB)", output, len(blob) / 1e6)
    report = Fp16Report(path=output, onnx_sha256=sha256_bytes(blob), keep_io_types=keep_io_types,
                        cast_nodes=sum(n.op_type == "Cast" for n in half.graph.node),
                        seconds=time.perf_counter() - t0, **gate)
    return half, report

