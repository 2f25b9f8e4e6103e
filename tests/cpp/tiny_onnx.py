"""A tiny R-MNet-shaped ONNX model for the native runtime's tests (no training, no exporter).

Inputs ``image`` [N,3,H,W] and ``mask`` [N,1,H,W] (1 = hole), output ``prediction`` [N,3,H,W]:
``tanh(conv3x3(concat(image * (1 - mask), mask)))`` with fixed pseudo-random weights, and N/H/W
symbolic like the real export. Used by pytest (imported by path) and by ctest (run as a script).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(path: str | Path, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    weight = (rng.normal(size=(3, 4, 3, 3)) * 0.25).astype(np.float32)
    weight[:, :3, 1, 1] += np.eye(3, dtype=np.float32)  # roughly identity on the image
    bias = (rng.normal(size=3) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["valid"]),
        helper.make_node("Mul", ["image", "valid"], ["masked"]),
        helper.make_node("Concat", ["masked", "mask"], ["features"], axis=1),
        helper.make_node("Conv", ["features", "weight", "bias"], ["conv"], pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("Tanh", ["conv"], ["prediction"]),
    ]
    dims = lambda c: ["N", c, "H", "W"]  # noqa: E731
    graph = helper.make_graph(
        nodes, "tiny_rmnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims(3)),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, dims(1))],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, dims(3))],
        initializer=[numpy_helper.from_array(np.ones((1,), np.float32), "one"),
                     numpy_helper.from_array(weight, "weight"),
                     numpy_helper.from_array(bias, "bias")])
    # Opset 13 / IR 8: old enough for OpenCV 4.6's importer, new enough for onnxruntime.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


if __name__ == "__main__":
    print(build(sys.argv[1]))
