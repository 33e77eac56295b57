"""bench --profile: operators cut out of a .tflite file compute what they computed in the full run,
XNNPACK's refusals are seen, and the CLI prints both runtimes side by side."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from torch2tf.cli import main
from torch2tf.native_logs import import_tensorflow, make_interpreter
from torch2tf.perf.op_models import op_models
from torch2tf.perf.profile import _time_cut

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_tflite(tmp_path_factory):
    """PAD → CONV_2D → CUMSUM (XNNPACK does not take it) → MEAN → FULLY_CONNECTED, written by TFLite's converter."""
    tf = import_tensorflow()
    rng = np.random.default_rng(0)
    kernel = tf.constant(rng.standard_normal((3, 3, 3, 4)).astype(np.float32))
    dense = tf.constant(rng.standard_normal((4, 2)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
    def net(image):
        padded = tf.pad(image, [[0, 0], [1, 1], [1, 1], [0, 0]])
        features = tf.math.cumsum(tf.nn.conv2d(padded, kernel, 2, "VALID"), axis=3)
        return tf.matmul(tf.reduce_mean(features, axis=[1, 2]), dense)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([net.get_concrete_function()], net)
    path = tmp_path_factory.mktemp("profile") / "small.tflite"
    path.write_bytes(converter.convert())
    return path


def _full_run(path):
    interpreter = make_interpreter(str(path), 1, inspect=True)
    interpreter.allocate_tensors()
    image = np.random.default_rng(1).standard_normal((1, 8, 8, 3)).astype(np.float32)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    details = interpreter.get_tensor_details()
    return ({d["index"]: [int(x) for x in d["shape"]] for d in details},
            {d["index"]: interpreter.get_tensor(d["index"]) for d in details})


def test_each_cut_operator_computes_what_it_did_in_the_full_run(small_tflite):
    shapes, values = _full_run(small_tflite)
    models = op_models(small_tflite, shapes)
    assert [m.op_type for m in models] == ["PAD", "CONV_2D", "CUMSUM", "MEAN", "FULLY_CONNECTED"]
    from ai_edge_litert.tools import flatbuffer_utils

    operators = flatbuffer_utils.read_model(str(small_tflite)).subgraphs[0].operators
    for model, op in zip(models, operators):
        interpreter = make_interpreter(None, 1, content=model.content)
        interpreter.allocate_tensors()
        for detail, index in zip(interpreter.get_input_details(), model.inputs):
            interpreter.set_tensor(detail["index"], values[index])
        interpreter.invoke()
        got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        np.testing.assert_allclose(got, values[int(op.outputs[0])], rtol=1e-5, atol=1e-5, err_msg=model.op_type)
    pad = models[0]
    assert pad.consumer == 1 and pad.pair is not None  # cut out with its reader too: XNNPACK fuses the pair
    assert models[-1].consumer is None  # the graph's output: nobody reads it


def test_xnnpack_refusals_are_seen(small_tflite):
    shapes, values = _full_run(small_tflite)
    taken = {m.op_type: _time_cut(m.content, m.inputs, values, 1, 3)[1] for m in op_models(small_tflite, shapes)}
    assert taken["CONV_2D"] and taken["PAD"] and not taken["CUMSUM"]


def test_bench_profile_prints_both_runtimes(converted, tmp_path, cli_runner):
    out = tmp_path / "out"
    shutil.copytree(converted, out)
    # --top 10 lists every operator of this graph: which one is slowest is timing, not what the test asserts
    result = cli_runner.invoke(main, ["bench", str(out), "--profile", "--threads", "1", "--rounds", "3", "--top", "10"])
    assert result.exit_code == 0, result.output
    assert "| # | LiteRT op | count | µs | share | alone µs | onnxruntime op |" in result.output
    assert "CONV_2D" in result.output and "Conv" in result.output and "XNNPACK takes" in result.output
    profile = json.loads((out / "report.json").read_text())["profile"]
    tflite, onnx = profile["tflite"], profile["onnxruntime"]
    assert profile["target"] == "tflite_float32" and tflite["operators"] >= 3 and onnx["operators"] >= 3
    assert sum(o["count"] for o in tflite["ops"]) == tflite["xnnpack"]["timed"] == tflite["operators"]
    assert abs(sum(o["share"] for o in onnx["ops"]) - 1.0) < 1e-6 and tflite["whole_ms"] > 0
    assert "## Profile" in (out / "report.md").read_text()
    assert cli_runner.invoke(main, ["validate", str(out), "-q"]).exit_code == 0  # the manifest stays consistent
    bad = cli_runner.invoke(main, ["bench", str(out), "--profile", "--profile-target", "tflite_int4"])
    assert bad.exit_code == 2 and "tflite_float16, tflite_float32" in bad.output
    batched = cli_runner.invoke(main, ["bench", str(out), "--profile", "--batch", "1,8"])
    assert batched.exit_code == 2 and "--profile runs at batch 1" in batched.output
