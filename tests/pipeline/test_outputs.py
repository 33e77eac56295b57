"""The manifest record of a chosen attempt whose .tflite files could not be finished (CrossViT: the report
writer crashed on it after 225 s): no TFLite binding is recorded, the rest is."""
from __future__ import annotations

from types import SimpleNamespace

from torch2tf.conversion.strategies import Strategy
from torch2tf.pipeline.outputs import manifest_record
from torch2tf.pipeline.quantize import Quantized
from torch2tf.records import Report


def test_a_chosen_attempt_without_finished_tflite_files_records_no_binding():
    chosen = SimpleNamespace(tflite=None, plan=SimpleNamespace(to_json=lambda: None), exporter="dynamo",
                             strategy=Strategy("static-batch", static_batch=True))
    manifest = manifest_record("m.py:build", 0, {}, Report("m.py:build"), chosen, Quantized(), False)
    assert manifest.tflite is None
    assert manifest.strategy["exporter"] == "dynamo" and manifest.strategy["name"] == "static-batch"
