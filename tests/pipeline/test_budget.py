"""The conversion ladder's budget: once spent, no strategy starts and a running onnx2tf is stopped,
and the run ends with a reason that says so (never a silent wait)."""
from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.conftest import run_cli

LAYERS = 400  # 800 nodes: onnx2tf takes ~11 s on them here, warm child and all; the budget is 1 s


def _deep_chain(path) -> None:
    """An ONNX file whose conversion cannot be quick on any machine (a busy one only makes it slower):
    distinct 1×1 convolutions and tanh in a chain, nothing for the simplifier to fold."""
    rng = np.random.default_rng(0)
    nodes, weights, previous = [], [], "x"
    for i in range(LAYERS):
        weights.append(numpy_helper.from_array(rng.normal(0, 0.5, (4, 4 if i else 3, 1, 1)).astype(np.float32),
                                               f"w{i}"))
        nodes += [helper.make_node("Conv", [previous, f"w{i}"], [f"c{i}"]),
                  helper.make_node("Tanh", [f"c{i}"], [f"t{i}"])]
        previous = f"t{i}"
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 8, 8])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_a_spent_budget_stops_the_ladder_with_its_reason(tmp_path):
    model, out = tmp_path / "deep.onnx", tmp_path / "out"
    _deep_chain(model)
    proc = run_cli("convert", str(model), "-i", "x:Nx3x8x8", "-o", str(out),
                   "--budget", "1", "--no-cache", "--json", "-q")  # a cached onnx2tf run would beat any budget
    assert proc.returncode == 1, proc.stderr[-3000:]
    error = json.loads(proc.stdout)["error"]
    assert error["stage"] == "convert"
    assert error["message"].startswith("the conversion budget (1 s) ran out after 1 strategies; closest: ")
    assert "onnx2tf did not finish within 1 s" in error["message"]
    assert "--budget SECONDS" in error["hint"]
    assert not out.exists()  # nothing half-written
