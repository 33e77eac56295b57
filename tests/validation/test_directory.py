"""``torch2tf validate`` on a real converted directory: pass, fail, CI outputs and bad input."""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from torch2tf.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture
def out(converted, tmp_path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(converted, copy)
    return copy


def test_validate_passes_and_writes_ci_files(out, tmp_path, cli_runner):
    result = cli_runner.invoke(main, ["validate", str(out), "--samples", "4", "--junit", str(tmp_path / "p.xml"),
                                      "--markdown", str(tmp_path / "p.md"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])
    assert report["passed"]
    targets = {p["target"] for p in report["parity"]}
    assert targets == {"onnxruntime", "saved_model", "tflite_float32", "tflite_float16"}
    saved = next(p for p in report["parity"] if p["target"] == "saved_model")
    assert saved["samples"] == ["random-0-batch1", "random-1-batch3", "random-2-batch1", "random-3-batch3"]
    suite = ET.parse(tmp_path / "p.xml").getroot()
    assert suite.get("tests") == "4" and suite.get("failures") == "0"
    assert "| saved_model | onnxruntime | output |" in (tmp_path / "p.md").read_text()
    assert json.loads((out / "report.json").read_text())["stages"][0]["name"] == "validate"


def test_swapped_tflite_fails_with_exit_3(out, tmp_path, cli_runner):
    shutil.copy(out / "tflite/model_float16.tflite", out / "tflite/model_float32.tflite")
    result = cli_runner.invoke(main, ["validate", str(out), "--junit", str(tmp_path / "p.xml"), "--no-localize"])
    assert result.exit_code == 3
    report = json.loads((out / "report.json").read_text())
    failed = [p["target"] for p in report["parity"] if not p["passed"]]
    assert failed == ["tflite_float32"]
    assert any("tflite/model_float32.tflite changed since conversion" in n for n in report["notes"])
    assert ET.parse(tmp_path / "p.xml").getroot().get("failures") == "1"
    assert "❌ FAILED" in (out / "report.md").read_text()


def test_user_data_and_tolerance_override(out, tmp_path, cli_runner, rng):
    np.savez(tmp_path / "real.npz", image=rng.standard_normal((5, 3, 8, 8)).astype(np.float32))
    ok = cli_runner.invoke(main, ["validate", str(out), "--input-data", str(tmp_path / "real.npz"), "-q"])
    assert ok.exit_code == 0, ok.output
    strict = cli_runner.invoke(main, ["validate", str(out), "--tolerance", "fp16:atol=1e-9", "-q", "--no-localize"])
    assert strict.exit_code == 3
    report = json.loads((out / "report.json").read_text())
    assert [p["target"] for p in report["parity"] if not p["passed"]] == ["tflite_float16"]


def test_baseline_regression(out, tmp_path, cli_runner):
    first = cli_runner.invoke(main, ["validate", str(out), "-q"])
    assert first.exit_code == 0
    baseline = json.loads((out / "report.json").read_text())
    shutil.copy(out / "report.json", tmp_path / "same.json")
    assert cli_runner.invoke(main, ["validate", str(out), "--baseline", str(tmp_path / "same.json"), "-q"]).exit_code == 0
    for entry in baseline["parity"]:  # conversion errors and the fp16 file's precision loss, 1000× better then
        for output in entry["outputs"] + (entry.get("precision_loss") or {}).get("outputs", []):
            output["max_abs"] /= 1000.0
            output["mean_abs"] /= 1000.0
    (tmp_path / "better.json").write_text(json.dumps(baseline))
    result = cli_runner.invoke(main, ["validate", str(out), "--baseline", str(tmp_path / "better.json"),
                                      "--regression-factor", "1.5", "-q"])
    assert result.exit_code == 3
    report = json.loads((out / "report.json").read_text())
    assert {r["target"] for r in report["regressions"]} >= {"tflite_float16 precision loss"}
    assert "Regressions against the baseline" in (out / "report.md").read_text()


@pytest.mark.parametrize("damage, code, message", [
    (lambda d: shutil.rmtree(d), 2, "no such directory"),
    (lambda d: (d / "manifest.json").unlink(), 2, "not a torch2tf output directory"),
    (lambda d: (d / "report.json").write_text(json.dumps({"schema_version": 2})), 2, "schema_version 2"),
    (lambda d: (d / "tflite/model_float32.tflite").write_bytes(b"garbage"), 1, "cannot load TFLite file"),
    (lambda d: (d / "saved_model/saved_model.pb").write_bytes(b"garbage"), 1, "cannot load SavedModel"),
    (lambda d: (d / "tflite/model_float16.tflite").unlink(), 2, "is missing"),
])
def test_bad_directories(out, cli_runner, damage, code, message):
    damage(out)
    result = cli_runner.invoke(main, ["validate", str(out), "-q"])
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--tolerance", "fp32:atoll=1"], "is not one of"),
    (["--tolerance", "fp32"], "expected PRESET_OR_OUTPUT"),
    (["--samples", "0"], "at least 1"),
])
def test_bad_options(out, cli_runner, args, message):
    result = cli_runner.invoke(main, ["validate", str(out), *args])
    assert result.exit_code == 2 and message in result.output


def test_npz_that_does_not_match(out, tmp_path, cli_runner):
    np.savez(tmp_path / "bad.npz", pixels=np.zeros((1, 3, 8, 8), np.float32))
    result = cli_runner.invoke(main, ["validate", str(out), "--input-data", str(tmp_path / "bad.npz")])
    assert result.exit_code == 2
    assert "missing ['image'], unexpected ['pixels']" in result.output
