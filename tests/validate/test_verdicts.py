"""The run's verdict: every artifact asked for is judged, uninformative parity named, kept sections kept."""
from __future__ import annotations

from torch2tf.artifacts import measured_stamp, stale_measurement
from torch2tf.validate.directory import _kept_served_rows
from torch2tf.validate.markdown import summary_line
from torch2tf.validate.report import report_dict_passed, report_passed

OK = {"target": "saved_model", "reference": "onnxruntime", "passed": True, "outputs": [{"name": "y", "passed": True}]}
NOT_RUN = {"target": "tflite_integer_quant", "reference": "onnxruntime", "passed": False, "gating": False,
           "outputs": [], "errors": ["no output tensor named 'output_0'"]}
BELOW = {"target": "tflite_integer_quant", "reference": "onnxruntime", "passed": False, "gating": False,
         "outputs": [{"name": "y", "passed": False}]}
FLAT = [{"output": "y", "spread": 0.0, "limit": 1e-5, "note": "all zero: parity uninformative"}]


def test_a_requested_variant_that_did_not_run_fails_the_run():
    assert not report_passed([], [OK, NOT_RUN], [])
    report = {"passed": False, "parity": [OK, NOT_RUN], "model": "m"}
    line = summary_line(report)
    assert "FAILED" in line and "did not run" in line and "below the int8 preset" not in line


def test_below_the_int8_preset_gates_only_when_asked():
    assert report_passed([], [OK, BELOW], [])
    assert "below the int8 preset" in summary_line({"passed": True, "parity": [OK, BELOW], "model": "m"})


def test_uninformative_parity_fails_only_under_strict():
    assert report_passed([], [OK], [], FLAT, strict=False)
    assert not report_passed([], [OK], [], FLAT, strict=True)
    report = {"passed": True, "parity": [OK], "model": "m", "uninformative": FLAT}
    assert "parity uninformative for y" in summary_line(report)
    assert not report_dict_passed({**report, "strict": True})


def test_served_rows_are_kept_and_marked_stale_when_the_saved_model_changed():
    manifest = {"artifacts": [{"path": "saved_model/saved_model.pb", "sha256": "a"}]}
    row = {"target": "served_rest", "reference": "onnxruntime", "passed": True, "outputs": [],
           "measured": measured_stamp(manifest, ("saved_model/",))}
    kept = _kept_served_rows({"parity": [OK, row]}, manifest)
    assert [k["target"] for k in kept] == ["served_rest"] and kept[0]["carried_over"] and not kept[0]["stale"]
    changed = {"artifacts": [{"path": "saved_model/saved_model.pb", "sha256": "b"}]}
    assert _kept_served_rows({"parity": [row]}, changed)[0]["stale"]
    assert stale_measurement(None, manifest)
