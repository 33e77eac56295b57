"""Named dynamic axes end to end: a BERT classifier with a dynamic sequence axis served and run at 8 and 100
tokens, a wav2vec2 classifier at two lengths; a model whose axes onnx2tf cannot keep dynamic falls back to
fixed ones, and the report says so."""
from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest

import torch2tf
from tests.conftest import REPO
from torch2tf.cli import main

pytestmark = pytest.mark.slow
LENGTHS = (8, 100)


def _bert():
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=3)
    return BertForSequenceClassification(config).eval()


@pytest.fixture(scope="module")
def bert_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("dynamic") / "bert"
    result = torch2tf.convert(_bert(), ["input_ids:Nx{seq=8..100}:int64", "attention_mask:Nx{seq}:int64"], out,
                              localize=False)
    assert result.passed, result.report.parity
    return out


def _request(batch: int, length: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), np.int64)
    mask[:, length - 2:] = 0  # a padded tail
    return {"input_ids": rng.integers(0, 96, (batch, length)).astype(np.int64), "attention_mask": mask}


def _reference(out, feeds):
    import onnxruntime as ort

    return ort.InferenceSession(str(out / "model.onnx")).run(None, feeds)[0]


def test_the_sequence_axis_stays_dynamic_in_every_artifact(bert_out):
    from torch2tf.native_logs import import_tensorflow

    report = json.loads((bert_out / "report.json").read_text())
    assert report["conversion"]["dynamic_axes"] == ["seq"]
    assert {p["target"] for p in report["parity"]} >= {"saved_model", "tflite_float32", "tflite_float16"}
    assert "Samples: random-batch1-seq8, random-batch3-seq100" in (bert_out / "report.md").read_text()
    assert "dynamic axes `{seq}`" in (bert_out / "report.md").read_text()
    tf = import_tensorflow()
    signature = tf.saved_model.load(str(bert_out / "saved_model")).signatures["serving_default"]
    assert [s.shape.as_list() for s in signature.structured_input_signature[1].values()] == [[None, None]] * 2
    _tflite_matches_onnxruntime(bert_out, [_request(1, length, length) for length in LENGTHS])


def _tflite_matches_onnxruntime(out, requests: list[dict[str, np.ndarray]]) -> None:
    """Both .tflite files, resized to each request's shape as an app would, against onnxruntime."""
    from ai_edge_litert.interpreter import Interpreter

    for precision, atol in (("float32", 1e-4), ("float16", 5e-2)):
        runner = Interpreter(str(out / "tflite" / f"model_{precision}.tflite")).get_signature_runner("serving_default")
        assert all(list(d["shape_signature"])[1] == -1 for d in runner.get_input_details().values())
        for feeds in requests:
            (result,) = runner(**feeds).values()
            np.testing.assert_allclose(result, _reference(out, feeds), atol=atol)


def test_a_wav2vec2_classifier_runs_at_two_lengths(tmp_path):
    out = tmp_path / "wav2vec2"
    result = torch2tf.convert(str(REPO / "tests" / "corpus" / "models.py") + ":wav2vec2_sequence_classification",
                              ["input_values:Nx{t=1600..3200}"], out, localize=False)
    assert result.passed and result.report.conversion.dynamic_axes == ("t",)
    assert {s for p in result.parity for s in p.samples} == {"random-batch1-t1600", "random-batch3-t3200"}
    rng = np.random.default_rng(5)
    _tflite_matches_onnxruntime(out, [{"input_values": rng.standard_normal((1, t)).astype(np.float32)}
                                      for t in (1600, 2400, 3200)])


def test_tf_serving_answers_8_and_100_tokens_over_rest_and_grpc(bert_out, tmp_path, cli_runner):
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from torch2tf.native_logs import import_tensorflow
    from torch2tf.serve.repository import PackageOptions, package
    from torch2tf.serve.server import LocalServer, ServerOptions

    tf = import_tensorflow()
    package(PackageOptions(source=bert_out, name="bert", repo=tmp_path / "models"))
    with LocalServer(ServerOptions(repo=tmp_path / "models", rest_port=0, grpc_port=0)) as server:
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        for batch, length in ((2, LENGTHS[0]), (1, LENGTHS[1])):
            feeds = _request(batch, length, batch + length)
            body = json.dumps({"inputs": {k: v.tolist() for k, v in feeds.items()}}).encode()
            with urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{server.rest_port}/v1/models/bert:predict", data=body), timeout=60) as reply:
                rest = np.array(json.loads(reply.read())["outputs"])
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "bert"
            for name, value in feeds.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            grpc_logits = tf.make_ndarray(next(iter(stub.Predict(request, timeout=60).outputs.values())))
            expected = _reference(bert_out, feeds)
            assert rest.shape == grpc_logits.shape == (batch, 3)
            np.testing.assert_allclose(rest, expected, atol=1e-4)
            np.testing.assert_allclose(grpc_logits, expected, atol=1e-4)
        channel.close()
        for url in (f"http://127.0.0.1:{server.rest_port}", f"grpc://127.0.0.1:{server.grpc_port}"):
            # smoke's requests take the manifest's {seq}: both lengths, at batch 1 and 3
            result = cli_runner.invoke(main, ["smoke", url, "--model", "bert", "--from", str(bert_out),
                                              "--requests", "2"])
            assert result.exit_code == 0, result.output


def test_a_fully_convolutional_segmenter_runs_at_two_image_sizes(tmp_path):
    """The U-Net example (GroupNorm, a 2x2/2 up-convolution, bilinear upsampling, skip concatenations) with its
    height and width dynamic: natively in every artifact, checked at 32x32 and 48x48 and run at a third size."""
    out = tmp_path / "seg"
    result = torch2tf.convert(str(REPO / "examples" / "segmentation.py") + ":build",
                              ["image:Nx3x{h=32..48}x{w=32..48}"], out, localize=False)
    assert result.passed and result.report.conversion.dynamic_axes == ("h", "w")
    assert {s for p in result.parity for s in p.samples} == {"random-batch1-h32-w32", "random-batch3-h48-w48"}
    from ai_edge_litert.interpreter import Interpreter

    rng = np.random.default_rng(2)
    for precision, atol in (("float32", 1e-4), ("float16", 5e-2)):
        runner = Interpreter(str(out / "tflite" / f"model_{precision}.tflite")).get_signature_runner("serving_default")
        for h, w in ((32, 48), (40, 40)):  # NHWC in the .tflite signature
            image = rng.standard_normal((1, 3, h, w)).astype(np.float32)
            (result_nhwc,) = runner(image=image.transpose(0, 2, 3, 1)).values()
            np.testing.assert_allclose(result_nhwc.transpose(0, 3, 1, 2), _reference(out, {"image": image}), atol=atol)


def test_axes_onnx2tf_cannot_keep_dynamic_are_fixed_and_reported(tmp_path):
    """A T5 encoder's relative-position buckets over a dynamic length need TensorFlow (Flex) ops no interpreter
    here runs: the ladder pins {seq} at its largest size, validates there, and the report says which and why."""
    out = tmp_path / "t5"
    result = torch2tf.convert(str(REPO / "tests" / "corpus" / "models.py") + ":t5_encoder",
                              ["input_ids:Nx{seq=8..16}:int64", "attention_mask:Nx{seq}:int64"], out, localize=False)
    assert result.passed
    conversion = result.report.conversion
    assert conversion.static_axes == {"seq": 16} and not conversion.dynamic_axes
    assert conversion.static_axes_reason.startswith("static-batch+dynamic-axes: ")
    assert conversion.strategy.endswith("+fixed-axes")
    assert [s["shape"] for s in result.report.inputs] == [["N", 16]] * 2  # what validate and serve will send
    assert "**fixed axes** `{seq}` = 16" in result.report_path.read_text()
    assert all(p.samples == ("random-batch3-seq16",) for p in result.parity if p.target != "onnxruntime")
    assert cli_runner_exit(["validate", str(out), "-q", "--no-localize"]) == 0


def cli_runner_exit(args: list[str]) -> int:
    from click.testing import CliRunner

    return CliRunner().invoke(main, args).exit_code
