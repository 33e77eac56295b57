"""The run's verdict: every artifact asked for is judged, uninformative parity named, kept sections kept."""
from __future__ import annotations

import pytest

from torch2tf.artifacts import measured_stamp, stale_measurement
from torch2tf.records import Manifest, ParityEntry, Report, Uninformative
from torch2tf.validation.directory import _kept_served_rows
from torch2tf.validation.markdown import summary_line

OUT = {"name": "y", "shape": [1, 2], "max_abs": 0.0, "max_rel": 0.0, "mean_abs": 0.0, "cosine": 1.0, "atol": 1e-5,
       "rtol": 2e-4, "passed": True}
OK = ParityEntry.from_json({"target": "saved_model", "reference": "onnxruntime", "preset": "fp32", "passed": True,
                            "outputs": [OUT]})
NOT_RUN = ParityEntry.from_json({"target": "tflite_integer_quant", "reference": "onnxruntime", "preset": "int8",
                                 "passed": False, "gating": False, "outputs": [],
                                 "errors": ["no output tensor named 'output_0'"]})
BELOW = ParityEntry.from_json({"target": "tflite_integer_quant", "reference": "onnxruntime", "preset": "int8",
                               "passed": False, "gating": False, "outputs": [{**OUT, "passed": False}]})
FLAT = (Uninformative("y", 0.0, 1e-5, 2, "all zero: parity uninformative"),)


def test_a_requested_variant_that_did_not_run_fails_the_run():
    report = Report("m", parity=(OK, NOT_RUN))
    assert not report.passed
    line = summary_line(report)
    assert "FAILED" in line and "did not run" in line and "below the int8 preset" not in line


def test_below_the_int8_preset_gates_only_when_asked():
    report = Report("m", parity=(OK, BELOW))
    assert report.passed
    assert "below the int8 preset" in summary_line(report)


def test_uninformative_parity_fails_only_under_strict():
    report = Report("m", parity=(OK,), uninformative=FLAT)
    assert report.passed
    assert "parity uninformative for y" in summary_line(report)
    strict = Report.from_json({**report.to_json(), "strict": True})
    assert not strict.passed and strict.to_json()["passed"] is False


def test_the_verdict_is_computed_never_read_back():
    """A report.json edited to say passed: true still fails when its entries fail."""
    data = {**Report("m", parity=(OK, NOT_RUN)).to_json(), "passed": True}
    assert not Report.from_json(data).passed


def test_served_rows_are_kept_and_marked_stale_when_the_saved_model_changed():
    manifest = Manifest.from_json({"artifacts": [{"path": "saved_model/saved_model.pb", "sha256": "a", "size": 1}]})
    row = ParityEntry("served_rest", "onnxruntime", "fp32", True, measured=measured_stamp(manifest, ("saved_model/",)))
    kept = _kept_served_rows(Report("m", parity=(OK, row)), manifest)
    assert [k.target for k in kept] == ["served_rest"] and kept[0].carried_over and not kept[0].stale
    changed = Manifest.from_json({"artifacts": [{"path": "saved_model/saved_model.pb", "sha256": "b", "size": 1}]})
    assert _kept_served_rows(Report("m", parity=(row,)), changed)[0].stale
    assert stale_measurement(None, manifest)


CONSTANT_HEAD = '''
import torch
from torch import nn


def build():
    head = nn.Linear(8, 3)
    nn.init.zeros_(head.weight)  # a zero-initialized classifier head: every input gives the bias
    nn.init.constant_(head.bias, 0.5)
    return nn.Sequential(nn.Linear(8, 8), nn.ReLU(), head)
'''


@pytest.mark.slow
def test_strict_fails_a_real_conversion_whose_output_is_constant(tmp_path, cli_runner):
    import json

    from torch2tf.cli import main

    (tmp_path / "flat.py").write_text(CONSTANT_HEAD)
    args = ["convert", f"{tmp_path / 'flat.py'}:build", "-i", "x:Nx8", "--no-localize"]
    loose = cli_runner.invoke(main, [*args, "-o", str(tmp_path / "loose")])
    assert loose.exit_code == 0, loose.output
    assert "parity uninformative" in loose.output and "not a failure without --strict" in loose.output
    strict = cli_runner.invoke(main, [*args, "-o", str(tmp_path / "strict"), "--strict"])
    assert strict.exit_code == 3, strict.output
    report = json.loads((tmp_path / "strict" / "report.json").read_text())
    assert not report["passed"] and report["strict"] and [u["output"] for u in report["uninformative"]]
    assert "a failure under --strict" in (tmp_path / "strict" / "report.md").read_text()
