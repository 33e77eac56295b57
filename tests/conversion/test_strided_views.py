"""An in-order gather from a flattened tensor (the dynamo exporter's as_strided) becomes a Reshape;
any other gather is left alone. onnxruntime on the unrewritten export is the reference."""
from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tests.conftest import run_cli
from tests.conversion.strided_models import PooledView
from torch2tf.conversion.rewrites.fixes.strided_views import reshape_ordered_gathers


def _export(model: torch.nn.Module, path) -> onnx.ModelProto:
    torch.onnx.export(model.eval(), (torch.randn(2, 3, 8, 8),), str(path), dynamo=True, input_names=["x"],
                      dynamic_shapes={"x": {0: torch.export.Dim("N")}})
    return onnx.load(str(path))


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]


def test_an_in_order_view_becomes_a_reshape_exact_at_every_batch(tmp_path):
    model = _export(PooledView(), tmp_path / "view.onnx")
    assert {"Range", "Gather"} <= {n.op_type for n in model.graph.node}  # the exporter's as_strided spelling
    original = onnx.ModelProto.FromString(model.SerializeToString())
    assert "1 in-order gather" in reshape_ordered_gathers(model)
    assert not {"Range", "Gather"} & {n.op_type for n in model.graph.node}
    onnx.checker.check_model(model)
    for batch in (1, 5):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 8, 8)).astype(np.float32)
        np.testing.assert_array_equal(_run(model, x), _run(original, x))


def test_a_view_that_reads_out_of_order_is_left_alone(tmp_path):
    model = _export(PooledView(transposed=True), tmp_path / "transposed.onnx")
    assert "Gather" in {n.op_type for n in model.graph.node}
    assert reshape_ordered_gathers(model) == ""


@pytest.mark.slow
def test_the_view_converts_with_a_native_dynamic_batch(tmp_path):
    """Without the rewrite onnx2tf fails on the dynamic batch (tf.range) and computes another order with it fixed."""
    out = tmp_path / "out"
    proc = run_cli("convert", "tests/conversion/strided_models.py:pooled_view", "-i", "x:Nx3x8x8", "-o", str(out),
                   "-q", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    conversion = json.loads(proc.stdout)["conversion"]
    assert conversion["strategy"] == "dynamic-batch" and conversion["raw_batch"] is None
    assert any(r["rewrite"] == "strided_views" for r in conversion["rewrites"])
