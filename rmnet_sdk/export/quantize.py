"""INT8 static quantisation of the fp32 ONNX for CPUs (ONNX Runtime), with a quality gate.

::

    from rmnet_sdk.export.quantize import quantize_int8, quality_gate
    quantize_int8("rmnet.onnx", "rmnet_int8.onnx")            # calibrated on the photo corpus
    gate = quality_gate("rmnet.onnx", "rmnet_int8.onnx")     # hole-PSNR drop on the dev split
    gate.passed                                              # drop <= 0.3 dB (every bucket + all)

Calibration feeds real photos (centre squares at the model resolution) with generated masks of
every hole-ratio bucket, the same tensors :class:`~rmnet_sdk.Inpainter` produces. The photo
corpus is split deterministically by file name (CRC32) into a calibration part and a dev part,
so the gate never scores images the calibration saw.

Uses ``onnxruntime.quantization`` (ships with onnxruntime); imports nothing from TensorFlow.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._fileio import same_file
from ..contract.metadata import read_onnx_metadata
from ..errors import DataError, InvalidInputError

#: largest accepted hole-PSNR drop (dB) of a reduced-precision model vs fp32
MAX_PSNR_DROP = 0.3
#: every ``DEV_EVERY``-th image (by CRC32 of its name) belongs to the dev split
DEV_EVERY = 8


def split_photos(paths: Sequence[Path], dev_every: int = DEV_EVERY) -> tuple[list[Path], list[Path]]:
    """(calibration, dev) split of ``paths``, stable under renames of other files."""
    calib, dev = [], []
    for p in sorted(paths, key=lambda p: p.name):
        (dev if zlib.crc32(p.name.encode()) % dev_every == 0 else calib).append(p)
    return calib, dev


def photo_split(folder: str | os.PathLike[str] | None = None) -> tuple[list[Path], list[Path]]:
    """The calibration and dev images of ``folder`` (default: ``$RMNET_PHOTOS_DIR``)."""
    from ..imaging import list_images
    from ._common import default_photos_dir

    folder = folder or default_photos_dir()
    if folder is None:
        raise DataError("no photo folder for calibration (set RMNET_PHOTOS_DIR)")
    paths = list_images(folder)
    if not paths:
        raise DataError(f"no images in {folder}")
    return split_photos(paths)


def calibration_tensors(paths: Sequence[Path], *, size: int = 256, limit: int = 32,
                        seed: int = 0) -> Iterator[dict[str, np.ndarray]]:
    """``{"image", "mask"}`` NCHW batches of one, masked exactly as the Inpainter does."""
    from ..evaluation import center_square
    from ..imaging import read_image, to_model_inputs
    from ..mask_generators import MaskSampler
    from ..masks import HOLE_RATIO_BUCKETS

    buckets = HOLE_RATIO_BUCKETS
    sampler = MaskSampler()
    for i, p in enumerate(list(paths)[:limit]):
        rgb = center_square(read_image(p), size)
        rng = np.random.default_rng([seed, i])
        hole = sampler.sample_bucket((size, size), rng, buckets[i % len(buckets)])
        x, m = to_model_inputs(rgb, hole)
        yield {"image": x[None], "mask": m[None]}


@dataclass
class QuantOptions:
    """Knobs of :func:`quantize_int8` (defaults: what measured best on AVX2, see benchmarks/)."""

    quant_format: str = "QDQ"                # "QDQ" | "QOperator"
    activation_type: str = "uint8"          # "uint8" | "int8"
    weight_type: str = "int8"               # "int8" | "uint8"
    per_channel: bool = True
    reduce_range: bool = False              # 7-bit weights: avoids u8s8 saturation on AVX2
    calibrate_method: str = "MinMax"        # "MinMax" | "Percentile" | "Entropy"
    op_types: Sequence[str] | None = ("Conv",)   # None = everything ORT can quantise
    exclude_nodes: Sequence[str] = ()
    exclude_head: bool = True               # keep the last conv (tanh head) in fp32
    exclude_first: bool = True              # keep the first conv (image/mask input) in fp32:
    #                                         quantising it costs 0.5-0.7 dB hole-PSNR (measured)
    calibration_images: int = 32
    extra: dict[str, Any] = field(default_factory=dict)  # passed to quantize_static extra_options

    def label(self) -> str:
        a = "u8" if self.activation_type == "uint8" else "s8"
        w = "s8" if self.weight_type == "int8" else "u8"
        parts = [self.quant_format.lower(), a + w, "pc" if self.per_channel else "pt"]
        if self.reduce_range:
            parts.append("rr")
        if self.exclude_head:
            parts.append("fp32head")
        if self.exclude_first:
            parts.append("fp32first")
        if self.calibrate_method != "MinMax":
            parts.append(self.calibrate_method.lower())
        return "-".join(parts)


class _Reader:
    """``onnxruntime.quantization.CalibrationDataReader`` over a list of feeds."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._it = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def _head_conv(model: Any) -> str | None:
    """Name of the Conv that produces the network output (through Tanh/Transpose, or the
    residual model's Add/Clip, whose other branch is the prefill)."""
    from ..prefill import is_prefill_node

    producers = {o: n for n in model.graph.node for o in n.output}
    residual = [n.name for n in model.graph.node if n.op_type == "Conv"
                and "/correction" in n.name and not is_prefill_node(n.name)]
    if residual:
        return residual[0]
    name = model.graph.output[0].name
    seen = 0
    while name in producers and seen < 8:
        node = producers[name]
        if node.op_type == "Conv":
            return node.name
        name = node.input[0]
        seen += 1
    return None


def quantize_int8(fp32_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
                  options: QuantOptions | None = None, photos: str | os.PathLike[str] | None = None,
                  size: int | None = None) -> Path:
    """Static INT8 quantisation of ``fp32_path`` into ``out_path`` (model metadata kept)."""
    import onnx
    from onnxruntime import quantization as q

    opts = options or QuantOptions()
    fp32_path, out_path = Path(fp32_path), Path(out_path)
    if same_file(fp32_path, out_path):
        raise InvalidInputError("refusing to overwrite the fp32 model with its INT8 version")
    model = onnx.load(str(fp32_path))
    meta = {p.key: p.value for p in model.metadata_props}
    res = size or read_onnx_metadata(model).resolution
    calib, _ = photo_split(photos)
    feeds = list(calibration_tensors(calib, size=res, limit=opts.calibration_images))
    from ..prefill import is_prefill_node

    # The prefill divides blurred colour by blurred weight: in INT8 the weights near a hole's
    # centre (small, but exactly what the division needs) round away. It stays fp32.
    exclude = list(opts.exclude_nodes) + [n.name for n in model.graph.node
                                          if is_prefill_node(n.name)]
    if opts.exclude_head:
        head = _head_conv(model)
        if head:
            exclude.append(head)
    if opts.exclude_first:
        first = next((n.name for n in model.graph.node
                      if n.op_type == "Conv" and not is_prefill_node(n.name)), None)
        if first:
            exclude.append(first)
    types = {"uint8": q.QuantType.QUInt8, "int8": q.QuantType.QInt8}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.stem + ".tmp.onnx")
    pre = out_path.with_name(out_path.stem + ".pre.onnx")
    try:
        q.quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        q.quantize_static(
            str(pre), str(tmp), _Reader(feeds),
            quant_format=q.QuantFormat.QDQ if opts.quant_format == "QDQ" else q.QuantFormat.QOperator,
            op_types_to_quantize=list(opts.op_types) if opts.op_types else None,
            per_channel=opts.per_channel, reduce_range=opts.reduce_range,
            activation_type=types[opts.activation_type], weight_type=types[opts.weight_type],
            nodes_to_exclude=exclude,
            calibrate_method=getattr(q.CalibrationMethod, opts.calibrate_method),
            extra_options=dict(opts.extra))
        qmodel = onnx.load(str(tmp))
        del qmodel.metadata_props[:]
        for k, v in {**meta, "rmnet.quantization": json.dumps(
                {**asdict(opts), "op_types": list(opts.op_types or []), "exclude_nodes": exclude,
                 "calibration_images": len(feeds)})}.items():
            qmodel.metadata_props.add(key=k, value=v)
        onnx.save(qmodel, str(tmp))
        os.replace(tmp, out_path)
    finally:
        for p in (tmp, pre):
            p.unlink(missing_ok=True)
    return out_path


@dataclass
class GateResult:
    """Hole-PSNR per bucket of fp32 and the candidate on the dev split, and the verdict."""

    fp32: dict[str, float]
    candidate: dict[str, float]
    drop: dict[str, float]
    max_drop: float
    limit: float
    images: int
    passed: bool
    table: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_verdict(fp32: dict[str, float], candidate: dict[str, float],
                 limit: float = MAX_PSNR_DROP) -> tuple[dict[str, float], float, bool]:
    """Per-bucket drop (fp32 - candidate, dB), the worst drop, and whether it is within ``limit``."""
    drop = {k: float(fp32[k] - candidate[k]) for k in fp32 if k in candidate}
    if not drop:
        raise ValueError("no common buckets to compare")
    worst = max(drop.values())
    return drop, worst, bool(worst <= limit)


def quality_gate(fp32_model: str | os.PathLike[str], candidate_model: str | os.PathLike[str], *,
                 photos: str | os.PathLike[str] | None = None, limit: float = MAX_PSNR_DROP,
                 max_images: int | None = None, threads: int | None = None,
                 progress: bool = False) -> GateResult:
    """Hole-PSNR of both models on the dev split (``rmnet_sdk.evaluation.evaluate``, every
    bucket); passes when no bucket (nor the average) drops by more than ``limit`` dB."""
    return quality_gates(fp32_model, {"candidate": candidate_model}, photos=photos, limit=limit,
                         max_images=max_images, threads=threads, progress=progress)["candidate"]


def quality_gates(fp32_model: str | os.PathLike[str],
                  candidates: dict[str, str | os.PathLike[str]], *,
                  photos: str | os.PathLike[str] | None = None, limit: float = MAX_PSNR_DROP,
                  max_images: int | None = None, threads: int | None = None,
                  progress: bool = False) -> dict[str, GateResult]:
    """:func:`quality_gate` for several candidates in one evaluation (fp32 runs once)."""
    from ..evaluation import evaluate
    from ..imaging import read_image
    from ..inpainter import Inpainter

    _, dev = photo_split(photos)
    if max_images:
        dev = dev[:max_images]
    images = [read_image(p) for p in dev]
    ref = Inpainter(fp32_model, backend="onnxruntime", threads=threads)
    methods = {"fp32": ref.run}
    for name, path in candidates.items():
        if name == "fp32":
            raise InvalidInputError("'fp32' is the reference's name; rename the candidate")
        methods[name] = Inpainter(path, backend="onnxruntime", threads=threads).run
    result = evaluate(methods, images, size=ref.resolution, progress=progress)
    fp = {k: v["psnr_hole"] for k, v in result.table["fp32"].items()}
    out = {}
    for name in candidates:
        cand = {k: v["psnr_hole"] for k, v in result.table[name].items()}
        drop, worst, ok = gate_verdict(fp, cand, limit)
        out[name] = GateResult(fp32=fp, candidate=cand, drop=drop, max_drop=worst, limit=limit,
                               images=len(images), passed=ok,
                               table={k: result.table[k] for k in ("fp32", name)})
    return out


__all__ = ["DEV_EVERY", "GateResult", "MAX_PSNR_DROP", "QuantOptions", "calibration_tensors",
           "gate_verdict", "photo_split", "quality_gate", "quality_gates", "quantize_int8", "split_photos"]
