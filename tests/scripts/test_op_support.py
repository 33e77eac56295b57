"""The operator support table's generator (scripts/op_support) and the table it measured."""
from __future__ import annotations

import pytest

from scripts.op_support.cases import all_cases
from scripts.op_support.measure import measure_ops
from torch2tf.conversion.op_support import STATUSES, load_support_table


def test_shipped_table_covers_100_ops_with_measured_statuses():
    table = load_support_table()
    assert len(table["ops"]) >= 100
    assert {e["status"] for e in table["ops"].values()} <= set(STATUSES)
    assert table["generated_with"]["onnx2tf"] == "1.28.8"
    assert set(table["ops"]) == set(all_cases())  # every case measured, nothing hand-written
    for op in ("Conv", "Gemm", "MatMul", "Softmax", "LayerNormalization", "LSTM", "Resize", "ConvTranspose"):
        assert table["ops"][op]["status"] == "builtin", op


@pytest.mark.slow
def test_generator_measures_ops(tmp_path):
    cases = all_cases()
    results = measure_ops([cases["Relu"], cases["DFT"], cases["Erf"]], tmp_path)
    assert results["Relu"]["status"] == "builtin" and results["Relu"]["parity"] is True
    assert results["Relu"]["tflite_ops"] == ["RELU"]
    assert results["DFT"]["status"] == "unsupported" and "DFT" in results["DFT"]["note"]
    assert results["Erf"]["status"] == "flex" and "FlexErf" in results["Erf"]["note"]
