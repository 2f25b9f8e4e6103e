"""INT8 quantisation: the split, the gate verdict, and quantize_int8 on a tiny hand-built graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from rmnet_sdk.export import quantize as qz
from rmnet_sdk.imaging import write_image


def test_split_is_deterministic_and_disjoint():
    paths = [Path(f"img_{i:03d}.jpg") for i in range(200)]
    calib, dev = qz.split_photos(paths)
    assert set(calib).isdisjoint(dev) and len(calib) + len(dev) == 200
    assert 10 <= len(dev) <= 45  # about 1/8
    # a file's side does not depend on the other files
    calib2, dev2 = qz.split_photos(paths[:50])
    assert set(dev2) == {p for p in dev if p in set(paths[:50])}
    assert qz.split_photos(list(reversed(paths))) == (calib, dev)


def test_gate_verdict():
    fp = {"0.01-0.10": 30.0, "all": 25.0}
    drop, worst, ok = qz.gate_verdict(fp, {"0.01-0.10": 29.8, "all": 24.9})
    assert drop == pytest.approx({"0.01-0.10": 0.2, "all": 0.1}) and ok
    assert worst == pytest.approx(0.2)
    _, worst, ok = qz.gate_verdict(fp, {"0.01-0.10": 29.6, "all": 25.5})
    assert not ok and worst == pytest.approx(0.4)  # one bad bucket fails the gate
    _, _, ok = qz.gate_verdict(fp, {"0.01-0.10": 31.0, "all": 26.0})
    assert ok  # better is fine
    with pytest.raises(ValueError):
        qz.gate_verdict(fp, {"other": 1.0})


def test_labels():
    assert qz.QuantOptions().label() == "qdq-u8s8-pc-fp32head-fp32first"
    assert qz.QuantOptions(activation_type="int8", per_channel=False, exclude_head=False,
                           exclude_first=False, calibrate_method="Percentile").label() == \
        "qdq-s8s8-pt-percentile"


def _conv(name, x, y, cin, cout, rng):
    w = numpy_helper.from_array((rng.standard_normal((cout, cin, 3, 3)) * 0.3).astype(np.float32),
                                name + "_w")
    b = numpy_helper.from_array(np.zeros(cout, np.float32), name + "_b")
    return helper.make_node("Conv", [x, w.name, b.name], [y], name=name, pads=[1, 1, 1, 1]), [w, b]


def _tiny_model(path: Path) -> None:
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Concat", ["image", "mask"], ["x0"], axis=1, name="cat")]
    inits = []
    for i, (cin, cout) in enumerate([(4, 8), (8, 8), (8, 3)]):
        n, w = _conv(f"conv{i}", f"x{i}", f"c{i}", cin, cout, rng)
        nodes.append(n)
        inits += w
        act = "Tanh" if i == 2 else "Relu"
        nodes.append(helper.make_node(act, [f"c{i}"], ["prediction" if i == 2 else f"x{i + 1}"],
                                      name=f"act{i}"))
    dims = ["N", None, "H", "W"]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [dims[0], c, dims[2], dims[3]])
          for n, c in (("image", 3), ("mask", 1), ("prediction", 3))]
    graph = helper.make_graph(nodes, "tiny", io[:2], io[2:], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.metadata_props.add(key="rmnet.resolution", value="32")
    model.metadata_props.add(key="rmnet.name", value="tiny")
    onnx.save(model, str(path))


def test_quantize_int8_tiny_graph(tmp_path):
    photos = tmp_path / "photos"
    rng = np.random.default_rng(1)
    for i in range(6):
        write_image(photos / f"p{i}.png", rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    fp32 = tmp_path / "tiny.onnx"
    _tiny_model(fp32)
    out = qz.quantize_int8(fp32, tmp_path / "tiny_int8.onnx",
                           options=qz.QuantOptions(calibration_images=4), photos=photos)
    m = onnx.load(str(out))
    ops = [n.op_type for n in m.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["rmnet.name"] == "tiny" and "rmnet.quantization" in meta
    # first and last conv stay fp32: their weights are not fed by a DequantizeLinear
    deq_out = {n.output[0] for n in m.graph.node if n.op_type == "DequantizeLinear"}
    convs = {n.name: n for n in m.graph.node if n.op_type == "Conv"}
    assert convs["conv0"].input[1] not in deq_out and convs["conv2"].input[1] not in deq_out
    assert convs["conv1"].input[1] in deq_out
    from rmnet_sdk.backends.onnxruntime import OnnxRuntimeBackend

    x = rng.uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    k = (rng.random((1, 1, 32, 32)) > 0.7).astype(np.float32)
    x *= 1 - k  # masked like the Inpainter does (calibration saw such inputs)
    a = OnnxRuntimeBackend(fp32).infer(x, k)
    b = OnnxRuntimeBackend(out).infer(x, k)
    assert b.shape == a.shape and np.abs(a - b).mean() < 0.05  # noise input: loose bound
    with pytest.raises(Exception, match="overwrite"):
        qz.quantize_int8(fp32, fp32, photos=photos)
