"""ONNX files torch2tf did not export (old opsets, Caffe2/TF-born names, legacy softmax): converted
with parity, the renamed inputs mapped everywhere (slow)."""
from __future__ import annotations

import json
import urllib.request

import numpy as np
import onnx
import pytest

from tests.artifacts_check import assert_artifacts, assert_served_matches_onnxruntime, assert_tflite_signatures
from tests.conftest import run_cli
from tests.foreign.models import LEGACY_MODELS
from torch2tf.inputs import make_inputs
from torch2tf.specs import onnx_input_specs

pytestmark = pytest.mark.slow
TARGETS = {"saved_model", "tflite_float32", "tflite_float16"}


def _convert(name: str, tmp_path, *extra: str):
    source = tmp_path / f"{name}.onnx"
    onnx.save(LEGACY_MODELS[name](), str(source))
    out = tmp_path / name
    proc = run_cli("convert", str(source), "-o", str(out), "-q", *extra)
    return source, out, proc


@pytest.mark.parametrize("name", list(LEGACY_MODELS))
def test_legacy_onnx_converts_with_parity(name, tmp_path):
    source, out, proc = _convert(name, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == ""  # -q: no absl "Sanitizing" warnings either
    report = assert_artifacts(out)
    passed = {p["target"] for p in report["parity"] if p["passed"]}
    assert TARGETS <= passed and report["passed"]
    specs = onnx_input_specs(source)
    feeds = make_inputs(specs, 1, seed=5, vocab={})
    assert_served_matches_onnxruntime(out, feeds)
    assert_tflite_signatures(out, feeds)


def test_renamed_inputs_are_one_mapping_everywhere(tmp_path):
    """gpu_0/data_0 is gpu_0_data_0 in the SavedModel: manifest, runners, package, served metadata, smoke."""
    from torch2tf.serve.server import LocalServer, ServerOptions

    _, out, proc = _convert("caffe2_squeezenet_style", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [(b["name"], b["key"]) for b in manifest["signature"]["inputs"]] == [("gpu_0/data_0", "gpu_0_data_0")]
    assert run_cli("validate", str(out), "-q").returncode == 0
    repo = tmp_path / "repo"
    assert run_cli("package", str(out), "--repo", str(repo), "--name", "squeeze").returncode == 0
    with LocalServer(ServerOptions(repo=repo, rest_port=0, grpc_port=0)) as server:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.rest_port}/v1/models/squeeze/metadata",
                                    timeout=30) as response:
            metadata = json.loads(response.read())["metadata"]
        assert metadata["pytorch_names"] == {"inputs": {"gpu_0_data_0": "gpu_0/data_0"}}
        assert "gpu_0_data_0" in metadata["signature_def"]["signatureDef"]["serving_default"]["inputs"]
        smoke = run_cli("smoke", f"http://127.0.0.1:{server.rest_port}", "--model", "squeeze", "--from", str(out),
                        "--requests", "3")
        assert smoke.returncode == 0, smoke.stderr[-2000:]


def test_tflite_layout_nchw_keeps_pytorch_layout(tmp_path):
    source, out, proc = _convert("legacy_softmax_over_map", tmp_path, "--tflite-layout", "nchw")
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tflite"]["layout"] == "nchw"
    assert all(b["perm"] is None for b in manifest["tflite"]["inputs"] + manifest["tflite"]["outputs"])
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(str(out / "tflite/model_float32.tflite")).get_signature_runner("serving_default")
    assert list(runner.get_input_details()["image"]["shape_signature"]) == [-1, 3, 6, 6]  # NCHW, dynamic batch
    feeds = make_inputs(onnx_input_specs(source), 2, seed=6, vocab={})
    assert_tflite_signatures(out, feeds)
    got = runner(image=feeds["image"])
    assert got["probs"].shape == (2, 4, 6, 6)
    np.testing.assert_allclose(got["probs"].reshape(2, -1).sum(axis=1), 1.0, rtol=1e-5)  # legacy softmax: over C·H·W
