"""Every runner on a tiny model, through the same infer(feeds) -> {name: array} API."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from torch2tf.errors import ArtifactLoadError, InputSpecError
from torch2tf.specs import SignaturePlan, TensorBinding
from torch2tf.validation.runners import OrtRunner, SavedModelRunner, TfliteRunner, TorchRunner


def test_ort_runner_on_onnx_text_model(tmp_path, rng):
    model = onnx.parser.parse_model('''
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[N, 4] x) => (float[N, 4] y) { y = Relu(x) }
    ''')
    onnx.save(model, str(tmp_path / "relu.onnx"))
    x = rng.standard_normal((3, 4)).astype(np.float32)
    with OrtRunner(tmp_path / "relu.onnx") as runner:
        out = runner.infer({"x": x})
        with pytest.raises(InputSpecError, match="missing inputs \\['x'\\]"):
            runner.infer({"z": x})
    np.testing.assert_array_equal(out["y"], np.maximum(x, 0))


def test_ort_runner_rejects_garbage(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"nope")
    with pytest.raises(ArtifactLoadError, match="onnxruntime cannot load"):
        OrtRunner(tmp_path / "bad.onnx")


def test_torch_runner(tiny_models, rng):
    from torch2tf.model_source import load_model

    loaded = load_model(f"{tiny_models}:build")
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    out = TorchRunner(loaded.module, loaded.binding(["image"]), ["image"], ["logits"]).infer({"image": x})
    assert out["logits"].shape == (2, 2)


def _bindings(directory):
    manifest = json.loads((directory / "manifest.json").read_text())
    sig = manifest["signature"]
    plan = SignaturePlan([TensorBinding(**b) for b in sig["inputs"]], [TensorBinding(**b) for b in sig["outputs"]],
                         sig["raw_batch"], sig["layout"])
    return plan, [TensorBinding(**b) for b in manifest["tflite"]["outputs"]]


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 3])
def test_tf_runners_agree_with_onnxruntime(converted, rng, batch):
    plan, tflite_outputs = _bindings(converted)
    feeds = {"image": rng.standard_normal((batch, 3, 8, 8)).astype(np.float32)}
    with OrtRunner(converted / "model.onnx") as ort:
        expected = ort.infer(feeds)["output"]
        np.testing.assert_array_equal(ort.prepare(feeds)()[0], expected)  # what bench times computes the same
    with SavedModelRunner(converted / "saved_model", plan) as saved:
        np.testing.assert_allclose(saved.infer(feeds)["output"], expected, atol=1e-5, rtol=0)
        np.testing.assert_allclose(saved.prepare(feeds)()[0], expected, atol=1e-5, rtol=0)
    for precision, atol in (("float32", 1e-5), ("float16", 1e-2)):
        with TfliteRunner(converted / "tflite" / f"model_{precision}.tflite", plan.inputs, tflite_outputs) as tfl:
            assert not tfl.fixed_batch  # a dynamic conversion: resized per batch, not looped
            np.testing.assert_allclose(tfl.infer(feeds)["output"], expected, atol=atol, rtol=0)
            np.testing.assert_allclose(tfl.prepare(feeds)()[0], expected, atol=atol, rtol=0)
