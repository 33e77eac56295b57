"""Checks on a convert output directory that do not trust the report: load and run the artifacts."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

EXPECTED_FILES = ("model.onnx", "saved_model/saved_model.pb", "tflite/model_float32.tflite",
                  "tflite/model_float16.tflite", "report.json", "report.md", "manifest.json")


def assert_artifacts(out: Path) -> dict:
    for name in EXPECTED_FILES:
        assert (out / name).is_file(), f"missing {name}"
    report = json.loads((out / "report.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {a["path"] for a in manifest["artifacts"]}
    assert {"model.onnx", "saved_model/saved_model.pb", "tflite/model_float32.tflite"} <= listed
    assert all(len(a["sha256"]) == 64 and a["size"] > 0 for a in manifest["artifacts"])
    assert manifest["versions"]["onnx2tf"] == "1.28.8"
    assert report["schema_version"] == 1
    assert {s["name"] for s in report["stages"]} >= {"load", "export", "check_onnx", "convert", "parity", "write"}
    return report


def serving_signature(out: Path):
    from torch2tf.native_logs import import_tensorflow

    tf = import_tensorflow()
    return tf.saved_model.load(str(out / "saved_model")).signatures["serving_default"]


def assert_signature(out: Path, inputs: dict[str, list], outputs: list[str]) -> None:
    """serving_default takes the PyTorch names and shapes (None batch) and returns the PyTorch names."""
    fn = serving_signature(out)
    specs = fn.structured_input_signature[1]
    assert {n: s.shape.as_list() for n, s in specs.items()} == inputs
    assert sorted(fn.structured_outputs) == sorted(outputs)


def assert_served_matches_onnxruntime(out: Path, feeds: dict[str, np.ndarray], atol: float = 1e-4) -> None:
    """Call serving_default like TF Serving would and compare with onnxruntime on the exported ONNX."""
    from torch2tf.artifacts import read_manifest
    from torch2tf.native_logs import import_tensorflow

    tf = import_tensorflow()
    fn = serving_signature(out)
    keys = read_manifest(out).input_keys()  # names TensorFlow renamed
    served = {k: v.numpy() for k, v in fn(**{keys[k]: tf.constant(v) for k, v in feeds.items()}).items()}
    for name, expected in onnxruntime_outputs(out, feeds).items():
        np.testing.assert_allclose(served[name], expected, rtol=0, atol=atol, err_msg=name)


def onnxruntime_outputs(out: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def assert_tflite_signatures(out: Path, feeds: dict[str, np.ndarray], atol: float = 1e-4) -> None:
    """Every .tflite file has serving_default with the PyTorch names; called through get_signature_runner
    (image tensors in the layout manifest.json names), the fp32 file matches onnxruntime."""
    from ai_edge_litert.interpreter import Interpreter

    manifest = json.loads((out / "manifest.json").read_text())
    perms = {b["name"]: b["perm"] for b in manifest["tflite"]["inputs"]}
    out_perms = {b["name"]: b["perm"] for b in manifest["tflite"]["outputs"]}
    expected = onnxruntime_outputs(out, feeds)
    for variant in manifest["tflite"]["variants"].values():
        interpreter = Interpreter(str(out / variant["path"]))
        signature = interpreter.get_signature_list()["serving_default"]
        assert sorted(signature["inputs"]) == sorted(feeds) and sorted(signature["outputs"]) == sorted(expected)
        runner = interpreter.get_signature_runner("serving_default")
        details = runner.get_input_details()
        got = runner(**{name: _layout(value, perms[name]).astype(details[name]["dtype"]) for name, value in feeds.items()})
        if variant["path"].endswith("float32.tflite"):
            for name, value in expected.items():
                np.testing.assert_allclose(_layout(got[name], out_perms[name]), value, rtol=0, atol=atol, err_msg=name)


def _layout(value: np.ndarray, perm: list[int] | None) -> np.ndarray:
    return np.transpose(value, perm) if perm else value
