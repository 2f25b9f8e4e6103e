"""Exact rewrites and checks of the converted ONNX graph.

tf2onnx traces the generator at a fixed size (see :mod:`.keras_to_onnx`); these functions make
the result a model of any N/H/W: the IO renamed to the contract, the layout ``Reshape`` stand-ins
turned back into ``Transpose``, the check that nothing else is tied to the traced size, and the
relaxed dims. Two optional rewrites speed the graph up without changing a bit of its output
(stride-1 ``ConvTranspose`` -> ``Conv``, ``MaxPool`` ahead of a positive affine). Every function
edits the model in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..contract.io import IMAGE, INPUT_CHANNELS, MASK, PREDICTION, TENSOR_CHANNELS
from ..errors import ExportError
from ._common import log
from .onnx_io import constant_tensors

#: Ops whose presence means the graph computes or hard-codes a shape.
SHAPE_SPECIFIC_OPS = frozenset({"Shape", "Size", "Reshape", "Slice", "ConstantOfShape", "Expand",
                                "Flatten"})


def shape_specific_problems(model: onnx.ModelProto) -> list[str]:
    """Reasons why ``model`` would not be valid at other sizes than the one it was traced at."""
    graph = model.graph
    consts = constant_tensors(graph)
    problems: list[str] = []
    for node in graph.node:
        where = f"{node.op_type} node {node.name or node.output[0]!r}"
        if node.op_type in SHAPE_SPECIFIC_OPS:
            problems.append(f"{where} computes or hard-codes a shape")
        elif node.op_type in ("Resize", "Upsample"):
            sizes = node.input[3] if len(node.input) > 3 else ""
            scales = node.input[2] if node.op_type == "Resize" and len(node.input) > 2 else (
                node.input[1] if node.op_type == "Upsample" and len(node.input) > 1 else "")
            if sizes:
                problems.append(f"{where} resizes to fixed 'sizes' instead of scales")
            elif not scales or scales not in consts or consts[scales].size == 0:
                problems.append(f"{where} has no constant 'scales'")
        elif node.op_type == "ConvTranspose":
            if any(a.name == "output_shape" for a in node.attribute):
                problems.append(f"{where} has a fixed output_shape")
        elif node.op_type in ("If", "Loop", "Scan"):
            problems.append(f"{where} has a subgraph (control flow is not expected here)")
    return problems


def assert_shape_agnostic(model: onnx.ModelProto) -> None:
    """Raise :class:`ExportError` if the graph holds anything tied to the traced spatial size.

    Checked: no ``Shape``/``Size``/``Reshape``/``Slice``/``ConstantOfShape``/``Expand``/``Flatten``
    nodes, every ``Resize`` uses constant scales (no ``sizes``), no ``ConvTranspose`` has an
    ``output_shape``, no control flow. Then relaxing N/H/W in the IO is exact.
    """
    problems = shape_specific_problems(model)
    if problems:
        raise ExportError(
            "the exported graph is tied to the traced size, so its N/H/W cannot be made dynamic: "
            + "; ".join(problems[:8]) + (f" (+{len(problems) - 8} more)" if len(problems) > 8 else "")
            + ". Use stock Keras layers with static kernels (Conv2D, UpSampling2D, pooling), "
              "not layers that read the input shape.")


def _attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def rewrite_conv_transpose(model: onnx.ModelProto) -> int:
    """Replace every stride-1 ``ConvTranspose`` by the equivalent ``Conv``, in place.

    Exact: a stride-1 transposed convolution is a convolution with the kernel flipped spatially and
    its in/out channels swapped (per group), padded by ``dilation*(k-1) - p`` on each side. Nodes
    with strides != 1, output_padding, output_shape, SAME auto-padding, a non-constant weight or
    pads larger than the (dilated) kernel are left alone. Returns how many nodes were rewritten.
    """
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    count = 0
    for idx, node in enumerate(list(graph.node)):
        if node.op_type != "ConvTranspose" or node.domain not in ("", "ai.onnx"):
            continue
        weight_name = node.input[1]
        if weight_name not in inits:
            log.info("ConvTranspose %s: weight is not a constant; left as is", node.name)
            continue
        w = numpy_helper.to_array(inits[weight_name])
        nsp = w.ndim - 2
        strides = list(_attr(node, "strides", [1] * nsp))
        dil = list(_attr(node, "dilations", [1] * nsp))
        group = int(_attr(node, "group", 1))
        out_pad = list(_attr(node, "output_padding", [0] * nsp))
        auto_pad = _attr(node, "auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
        pads = list(_attr(node, "pads", [0] * (2 * nsp)))
        kshape = list(w.shape[2:])
        reason = None
        if any(s != 1 for s in strides):
            reason = f"strides {strides}"
        elif any(p != 0 for p in out_pad):
            reason = f"output_padding {out_pad}"
        elif _attr(node, "output_shape") is not None:
            reason = "output_shape"
        elif auto_pad not in ("NOTSET", "VALID", ""):
            reason = f"auto_pad {auto_pad}"
        if auto_pad == "VALID":
            pads = [0] * (2 * nsp)
        new_pads = [d * (k - 1) - p for d, k, p in zip(dil * 2, kshape * 2, pads, strict=True)]
        if reason is None and any(p < 0 for p in new_pads):
            reason = f"pads {pads} exceed the kernel"
        if reason is not None:
            log.info("ConvTranspose %s not rewritten (%s)", node.name, reason)
            continue
        c_in, c_out_g = w.shape[0], w.shape[1]
        wg = w.reshape(group, c_in // group, c_out_g, *kshape)
        wg = np.swapaxes(wg, 1, 2)                          # [g, out/g, in/g, k...]
        wc = wg.reshape(group * c_out_g, c_in // group, *kshape)
        wc = np.ascontiguousarray(wc[(slice(None), slice(None)) + (slice(None, None, -1),) * nsp])
        new_w_name = weight_name if uses.get(weight_name, 0) == 1 else f"{weight_name}__as_conv"
        new_init = numpy_helper.from_array(wc.astype(w.dtype), new_w_name)
        if new_w_name == weight_name:
            inits[weight_name].CopyFrom(new_init)
        else:
            graph.initializer.append(new_init)
            inits[new_w_name] = graph.initializer[-1]
        conv = helper.make_node(
            "Conv", [node.input[0], new_w_name, *node.input[2:3]], list(node.output),
            name=node.name or f"conv_from_convtranspose_{idx}",
            kernel_shape=kshape, strides=[1] * nsp, dilations=dil, group=group, pads=new_pads)
        graph.node.remove(node)
        graph.node.insert(idx, conv)
        count += 1
    return count


def _rename_tensor(graph: onnx.GraphProto, old: str, new: str) -> None:
    if old == new:
        return
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new
    for coll in (graph.input, graph.output, graph.value_info):
        for vi in coll:
            if vi.name == old:
                vi.name = new


def _channels(vi: onnx.ValueInfoProto) -> int | None:
    dims = vi.type.tensor_type.shape.dim
    return dims[1].dim_value if len(dims) == 4 and dims[1].HasField("dim_value") else None


def canonicalize_io(model: onnx.ModelProto) -> None:
    """Rename the graph IO to ``image``/``mask``/``prediction`` (matched by name, else channels)."""
    graph = model.graph
    init_names = {t.name for t in graph.initializer}
    inputs = [vi for vi in graph.input if vi.name not in init_names]
    if len(inputs) != 2 or len(graph.output) != 1:
        raise ExportError(f"an R-MNet generator has 2 inputs (image, mask) and 1 output; the graph "
                          f"has inputs {[i.name for i in inputs]}, outputs "
                          f"{[o.name for o in graph.output]}")
    by_name = {vi.name: vi for vi in inputs}
    if set(by_name) != set(INPUT_CHANNELS):
        chans = {_channels(vi): vi for vi in inputs}
        if set(chans) != {3, 1}:
            raise ExportError(f"cannot tell image from mask: input channels "
                              f"{[_channels(vi) for vi in inputs]} (expected 3 and 1)")
        old_image, old_mask = chans[3].name, chans[1].name
        tmp = "__rmnet_tmp_mask"
        _rename_tensor(graph, old_mask, tmp)
        _rename_tensor(graph, old_image, IMAGE)
        _rename_tensor(graph, tmp, MASK)
    _rename_tensor(graph, graph.output[0].name, PREDICTION)


def rewrite_layout_reshapes(model: onnx.ModelProto) -> int:
    """Turn tf2onnx's size-pinned ``Reshape`` stand-ins for layout transposes back into
    ``Transpose`` nodes; returns how many were rewritten (in place).

    Converting NHWC to NCHW, tf2onnx replaces a ``Transpose`` by a ``Reshape`` to a constant shape
    when the two agree at the traced size (a tensor with one channel, or a 1x1 global mean).
    That constant pins the traced size. A ``Reshape`` is rewritten only when a 4-D permutation of
    its input's traced shape gives its target without reordering the dimensions that are not 1,
    so the ``Transpose`` computes the same tensor at the traced size and stays correct at every
    other size.
    """
    import itertools

    inferred = onnx.shape_inference.infer_shapes(model)
    shapes: dict[str, list[int]] = {}
    for vi in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") or d.dim_param for d in dims):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
    consts = constant_tensors(model.graph)
    rewritten = 0
    for node in model.graph.node:
        if node.op_type != "Reshape" or len(node.input) < 2 or node.input[1] not in consts:
            continue
        source, target = shapes.get(node.input[0]), [int(v) for v in consts[node.input[1]]]
        if source is None or len(source) != 4 or len(target) != 4:
            continue

        def same(a: int, b: int) -> bool:
            return a == b or a < 0 or b <= 0  # -1 / unknown batch, 0 = copy

        # A Reshape keeps memory order, so the equivalent Transpose keeps the order of the
        # dimensions that are not 1; singleton dimensions (one channel, a global mean) may go
        # anywhere, and the layout permutations are preferred among equivalent placements.
        perms = [p for p in itertools.permutations(range(4)) if p[0] == 0
                 and all(same(source[i], t) for i, t in zip(p, target, strict=True))
                 and [i for i in p if source[i] != 1] == sorted(i for i in p if source[i] != 1)]
        if not perms or len({tuple(source[i] for i in p) for p in perms}) != 1:
            continue
        preferred = [p for p in perms if p in ((0, 2, 3, 1), (0, 3, 1, 2))]
        perm = (preferred or perms)[0]
        if perm == (0, 1, 2, 3):
            continue
        node.op_type = "Transpose"
        del node.input[1:]
        del node.attribute[:]
        node.attribute.append(helper.make_attribute("perm", list(perm)))
        rewritten += 1
    if rewritten:  # the Reshapes' target shapes are now unused: drop them, not leave them
        used = {name for node in model.graph.node for name in node.input}
        keep = [t for t in model.graph.initializer if t.name in used]
        del model.graph.initializer[:]
        model.graph.initializer.extend(keep)
    return rewritten


def relax_dims(model: onnx.ModelProto) -> onnx.ModelProto:
    """Make N/H/W dynamic on the IO, drop stale ``value_info``, re-infer shapes, check; in place.

    Only valid for a graph that passes :func:`assert_shape_agnostic` (called here first).
    """
    assert_shape_agnostic(model)
    graph = model.graph
    io = [vi for vi in [*graph.input, *graph.output] if vi.name in TENSOR_CHANNELS]
    if len(io) != 3:
        raise ExportError(f"expected IO {sorted(TENSOR_CHANNELS)}, got inputs "
                          f"{[v.name for v in graph.input]}, outputs {[v.name for v in graph.output]}")
    for vi in io:
        dims = vi.type.tensor_type.shape.dim
        if len(dims) != 4:
            raise ExportError(f"{vi.name} has rank {len(dims)}, expected 4 (NCHW)")
        c = _channels(vi)
        if c != TENSOR_CHANNELS[vi.name]:
            raise ExportError(f"{vi.name} has {c} channels in dim 1, expected "
                              f"{TENSOR_CHANNELS[vi.name]} "
                              "(was the graph exported as NCHW?)")
        for i, p in ((0, "N"), (2, "H"), (3, "W")):
            dims[i].Clear()
            dims[i].dim_param = p
    del graph.value_info[:]
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        onnx.checker.check_model(inferred, full_check=True)
    except Exception as e:
        raise ExportError(f"the relaxed ONNX graph does not check: {e}") from e
    model.CopyFrom(inferred)
    return model


def rewrite_pool_before_affine(model: onnx.ModelProto) -> int:
    """Move ``MaxPool`` ahead of a per-channel affine (inference BatchNorm ``Mul`` + ``Add``), in place.

    R-MNet's encoder runs conv -> LeakyReLU -> BatchNorm -> MaxPool 2x2. With every scale > 0,
    ``max(a*x + b) == a*max(x) + b`` -- bit for bit, because float multiplication and addition
    are monotonic -- so pooling first does the affine on a quarter of the pixels and lets
    ONNX Runtime pool straight after the conv (measured: 8 % off INT8 CPU latency at 256²).
    Only rewritten when the scale and bias are constant [1,C,1,1]/[C]-broadcastable tensors, the
    scale is strictly positive, and the intermediate tensors have no other consumers.
    Returns how many MaxPools were moved.
    """
    graph = model.graph
    consts = constant_tensors(graph)
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    producer = {o: node for node in graph.node for o in node.output}

    def single_use(tensor: str) -> bool:
        return len(consumers.get(tensor, [])) == 1 and tensor not in outputs

    def per_channel_const(node: onnx.NodeProto) -> tuple[int, np.ndarray] | None:
        """(index of the data input, constant) when one input is a per-channel constant."""
        for k in (0, 1):
            c = consts.get(node.input[1 - k])
            if c is not None and c.ndim == 4 and c.shape[0] == 1 and c.shape[2:] == (1, 1):
                return k, c
        return None

    count = 0
    for pool in [n for n in graph.node if n.op_type == "MaxPool"]:
        if len(pool.output) != 1 or pool.input[0] not in producer:
            continue
        add = producer[pool.input[0]]
        if add.op_type != "Add" or not single_use(add.output[0]):
            continue
        add_c = per_channel_const(add)
        if add_c is None or add.input[add_c[0]] not in producer:
            continue
        mul = producer[add.input[add_c[0]]]
        if mul.op_type != "Mul" or not single_use(mul.output[0]):
            continue
        mul_c = per_channel_const(mul)
        if mul_c is None or not np.all(mul_c[1] > 0):
            continue
        x, y = mul.input[mul_c[0]], pool.output[0]
        pooled = f"{y}__pooled"
        # x -> MaxPool -> pooled -> Mul -> Add -> y (names of the affine's tensors are reused)
        pool.input[0], pool.output[0] = x, pooled
        mul.input[mul_c[0]] = pooled
        add.output[0] = y
        # keep the node list topologically sorted: the pool now runs before the Mul
        graph.node.remove(pool)
        graph.node.insert(list(graph.node).index(mul), pool)
        count += 1
    if count:
        del graph.value_info[:]  # stale shapes (the affine now runs at the pooled size)
    return count
