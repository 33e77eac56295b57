"""What a .tflite file really contains, read from its flatbuffer."""
from __future__ import annotations

import json

import pytest

from torch2tf.errors import ArtifactLoadError
from torch2tf.tflite.inventory import read_tflite_ops


@pytest.mark.slow
def test_tflite_truth_in_report(converted):
    ops = read_tflite_ops(converted / "tflite" / "model_float32.tflite")
    assert ops.counts["CONV_2D"] == 1 and not ops.flex and not ops.custom
    report = json.loads((converted / "report.json").read_text())
    summary = report["conversion"]["tflite"]["tflite_float32"]
    assert summary["builtin_only"] and summary["transpose_count"] == ops.transposes
    assert {"op_type": "CONV_2D", "count": 1, "status": "builtin", "note": "", "target": "tflite_float32"} \
        in report["operators"]
    assert "TRANSPOSE" in (converted / "report.md").read_text()


def test_unreadable_tflite(tmp_path):
    (tmp_path / "bad.tflite").write_bytes(b"\x00" * 16)
    with pytest.raises(ArtifactLoadError, match="not a readable TFLite flatbuffer"):
        read_tflite_ops(tmp_path / "bad.tflite")
