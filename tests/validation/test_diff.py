"""`torch2tf report diff` on report pairs whose changes are known."""
from __future__ import annotations

import copy
import json

import pytest

from torch2tf.cli import main


def output(name="logits", max_abs=1e-3, mean_abs=1e-4, passed=True):
    return {"name": name, "shape": [2, 10], "max_abs": max_abs, "max_rel": 0.0, "mean_abs": mean_abs,
            "cosine": 0.99999, "atol": 1e-2, "rtol": 0.0, "passed": passed, "note": ""}


BASE = {"schema_version": 1, "passed": True, "model": "m.py:build", "inputs": [], "stages": [],
        "operators": [{"op_type": "Conv", "count": 2, "status": "builtin"}],
        "parity": [{"target": "saved_model", "reference": "onnxruntime", "preset": "fp32", "passed": True, "outputs": [output()]},
                   {"target": "tflite_float16", "reference": "onnxruntime", "preset": "fp32", "passed": True, "outputs": [output()]}],
        "conversion": {"exporter": "dynamo", "strategy": "dynamic-batch"}, "regressions": [], "notes": [],
        "versions": {}}
SIZES = [{"path": "model.onnx", "size": 1000}, {"path": "tflite/model_float32.tflite", "size": 1000}]


def write(directory, report, sizes=SIZES):
    directory.mkdir()
    (directory / "report.json").write_text(json.dumps(report))
    artifacts = [{"sha256": "0" * 64, **a} for a in sizes]
    (directory / "manifest.json").write_text(json.dumps({"schema_version": 1, "artifacts": artifacts}))
    return directory


def changed(edit):
    report = copy.deepcopy(BASE)
    edit(report)
    return report


def diff(tmp_path, cli_runner, new, sizes=SIZES, *extra):
    old_dir, new_dir = write(tmp_path / "old", BASE), write(tmp_path / "new", new, sizes)
    out = tmp_path / "diff.json"
    result = cli_runner.invoke(main, ["report", "diff", str(old_dir), str(new_dir), "--json", str(out), *extra])
    return result, json.loads(out.read_text()) if out.exists() else None


def test_no_change(tmp_path, cli_runner):
    result, found = diff(tmp_path, cli_runner, BASE)
    assert result.exit_code == 0 and not found["regressed"] and not found["improvements"]
    assert {row["change"] for row in found["outputs"]} == {"same"} and "✓ no regression" in result.output


def test_an_error_that_triples_is_a_regression(tmp_path, cli_runner):
    result, found = diff(tmp_path, cli_runner, changed(lambda r: r["parity"][1]["outputs"][0].update(max_abs=3e-3)))
    assert result.exit_code == 3
    assert found["regressions"] == ["tflite_float16 output 'logits': worse: max_abs ×3.0"]
    assert "✗ worse: max_abs ×3.0" in result.output
    (tmp_path / "looser").mkdir()
    result, _ = diff(tmp_path / "looser", cli_runner, changed(lambda r: r["parity"][1]["outputs"][0].update(
        max_abs=3e-3)), SIZES, "--regression-factor", "4")
    assert result.exit_code == 0


def test_an_improvement_is_marked_and_passes(tmp_path, cli_runner):
    result, found = diff(tmp_path, cli_runner, changed(lambda r: r["parity"][0]["outputs"][0].update(
        max_abs=1e-5, mean_abs=1e-6)))
    assert result.exit_code == 0 and found["improvements"] == ["saved_model output 'logits': better: max_abs ÷100.0"]


def test_a_new_output_and_a_removed_one(tmp_path, cli_runner):
    result, found = diff(tmp_path, cli_runner, changed(lambda r: r["parity"][0]["outputs"].append(output("boxes"))))
    assert result.exit_code == 0 and [row["change"] for row in found["outputs"] if row["output"] == "boxes"] == ["new"]
    (tmp_path / "removed").mkdir()
    result, found = diff(tmp_path / "removed", cli_runner, changed(lambda r: r["parity"][0].update(outputs=[])))
    assert result.exit_code == 3 and "saved_model output 'logits': checked before, missing now" in found["regressions"]


def test_a_failed_target(tmp_path, cli_runner):
    def fail(report):
        report["passed"] = False
        report["parity"][1]["passed"] = False
        report["parity"][1]["outputs"][0].update(passed=False, max_abs=0.5)

    result, found = diff(tmp_path, cli_runner, changed(fail))
    assert result.exit_code == 3 and "the report passed before and fails now" in found["regressions"]
    assert "tflite_float16 output 'logits': passed before, fails now" in found["regressions"]
    assert "parity FAILS now (was passing)" in result.output


def test_size_operators_strategy_and_latency(tmp_path, cli_runner):
    def edit(report):
        report["operators"].append({"op_type": "Transpose", "count": 4, "status": "builtin"})
        report["conversion"]["strategy"] = "static-batch"

    bigger = [{"path": "model.onnx", "size": 1000}, {"path": "tflite/model_float32.tflite", "size": 1300}]
    result, found = diff(tmp_path, cli_runner, changed(edit), bigger)
    assert result.exit_code == 3
    assert found["regressions"] == ["tflite/model_float32.tflite: 1.30× larger (1000 → 1300 bytes)"]
    assert found["operators"] == {"added": ["Transpose"], "removed": []}
    assert found["strategy"] == {"old": "dynamo/dynamic-batch", "new": "dynamo/static-batch"}
    assert "Operators added: Transpose" in result.output and "1000 → 1300" in result.output


def test_latency_needs_both_benchmarks(tmp_path):
    from torch2tf.validation.diff import DiffOptions, diff_reports

    def bench(median):
        row = {"runtime": "tflite_float32", "batch": 1, "median_ms": median, "p90_ms": median, "throughput": 1e3 / median,
               "size_bytes": 1000, "latency_vs_onnxruntime": 1.0, "size_vs_onnxruntime": 1.0}
        return {"threads": 1, "batches": [1], "rounds": 3, "warmup": 3, "rows": [row]}

    old, new = copy.deepcopy(BASE), copy.deepcopy(BASE)
    old["benchmark"], new["benchmark"] = bench(2.0), bench(4.0)
    found = diff_reports(write(tmp_path / "o", old), write(tmp_path / "n", new), DiffOptions()).to_json()
    assert found["latency"][0]["ratio"] == 2.0 and "tflite_float32 at batch 1: 2.00× slower" in found["regressions"]


@pytest.mark.parametrize("content, message", [("{", "is not valid JSON"), ('{"schema_version": 9}', "schema_version 9")])
def test_bad_reports_are_usage_errors(tmp_path, cli_runner, content, message):
    (tmp_path / "bad.json").write_text(content)
    write(tmp_path / "ok", BASE)
    result = cli_runner.invoke(main, ["report", "diff", str(tmp_path / "bad.json"), str(tmp_path / "ok")])
    assert result.exit_code == 2 and message in result.output


def test_weights_moved_into_the_graph_file_are_the_same_bytes(tmp_path, cli_runner):
    """A re-conversion of model.onnx holds its weights inline: the graph plus its external data is compared."""
    old_sizes = [{"path": "model.onnx", "size": 60_000}, {"path": "model.onnx.data", "size": 704_192}]
    new_sizes = [{"path": "model.onnx", "size": 764_192}]
    old_dir, new_dir = write(tmp_path / "old", BASE, old_sizes), write(tmp_path / "new", BASE, new_sizes)
    result = cli_runner.invoke(main, ["report", "diff", str(old_dir), str(new_dir)])
    assert result.exit_code == 0, result.output
    assert "None" not in result.output and "larger" not in result.output


def test_an_artifact_present_on_one_side_only_prints_absent(tmp_path, cli_runner):
    sizes = SIZES + [{"path": "tflite/model_integer_quant.tflite", "size": 300}]
    result, found = diff(tmp_path, cli_runner, BASE, sizes)
    assert "absent → 300" in result.output and "None" not in result.output
