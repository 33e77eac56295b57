"""The local server on 127.0.0.1 ephemeral ports: REST and gRPC like TF Serving, errors included."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.conftest import REPO
from torch2tf.cli import main


@pytest.fixture(scope="module")
def server(repo):
    from torch2tf.serve.server import LocalServer, ServerOptions

    with LocalServer(ServerOptions(repo=repo, rest_port=0, grpc_port=0, max_request_bytes=200_000)) as running:
        yield running


def rest(server, path, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{server.rest_port}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def reference(model_dir, x):
    import onnxruntime as ort

    return ort.InferenceSession(str(model_dir / "model.onnx")).run(None, {"image": x})[0]


def test_rest_predict_row_and_columnar(server, served_model, rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    status, body = rest(server, "/v1/models/tiny:predict", {"instances": x.tolist()})
    assert status == 200
    np.testing.assert_allclose(np.array(body["predictions"]), reference(served_model, x), atol=1e-5)
    status, body = rest(server, "/v1/models/other/versions/5:predict", {"inputs": {"image": x.tolist()}})
    assert status == 200
    np.testing.assert_allclose(np.array(body["outputs"]), reference(served_model, x), atol=1e-5)
    status, body = rest(server, "/v1/models/tiny:predict", {"instances": [{"image": x[0].tolist()}]})
    assert status == 200 and np.array(body["predictions"]).shape == (1, 2)


def test_the_repository_readme_grpc_snippet_runs_as_written(server, repo, capsys):
    """The generated README's gRPC example names the model's real input (not a placeholder) with its
    shape and dtype, and answers against the served repository."""
    import re

    code = re.search(r"```python\n(.*?)```", (repo / "README.md").read_text(), re.S).group(1)
    assert 'request.inputs["image"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 3, 8, 8), np.float32)))' in code
    exec(compile(code.replace("127.0.0.1:8500", f"127.0.0.1:{server.grpc_port}"), "README.md", "exec"), {})
    assert "'output': array([[" in capsys.readouterr().out


def test_rest_status_and_metadata(server):
    status, body = rest(server, "/v1/models/tiny")
    assert status == 200
    assert [(v["version"], v["state"]) for v in body["model_version_status"]] == [("2", "AVAILABLE"), ("1", "AVAILABLE")]
    status, body = rest(server, "/v1/models/tiny/versions/1/metadata")
    assert status == 200 and body["model_spec"]["version"] == "1"
    inputs = body["metadata"]["signature_def"]["signatureDef"]["serving_default"]["inputs"]
    assert [int(d["size"]) for d in inputs["image"]["tensorShape"]["dim"]] == [-1, 3, 8, 8]


@pytest.mark.parametrize("path, body, raw, code, message", [
    ("/v1/models/nope:predict", {"instances": [[0]]}, None, 404, "Servable not found for request: Latest(nope)"),
    ("/v1/models/tiny/versions/9", None, None, 404, "Specific(tiny, 9)"),
    ("/v1/models/tiny:predict", None, b"{not json", 400, "JSON Parse error"),
    ("/v1/models/tiny:predict", {"instances": {"image": 1}}, None, 400, "non-empty JSON list"),
    ("/v1/models/tiny:predict", {"inputs": {"pixels": [[0.0]]}}, None, 400, "input tensor alias not found"),
    ("/v1/models/tiny:predict", {"inputs": {"image": np.zeros((1, 3, 9, 8)).tolist()}}, None, 400, "does not match"),
    ("/v1/models/tiny:predict", {"inputs": {"image": [["a"]]}}, None, 400, "expects float32"),
    ("/v1/models/tiny:predict", {"foo": 1}, None, 400, "Missing 'inputs' or 'instances'"),
    ("/v1/models/tiny:predict", None, b"x" * 300_000, 413, "exceeds the limit"),
])
def test_rest_errors_like_tf_serving(server, path, body, raw, code, message):
    status, answer = rest(server, path, body, raw)
    assert status == code
    assert message in answer["error"]


def test_concurrent_requests_with_bad_ones_mixed_in(server, served_model, rng):
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    expected = reference(served_model, x)

    def good(_):
        status, body = rest(server, "/v1/models/tiny:predict", {"instances": x.tolist()})
        return status == 200 and np.allclose(np.array(body["predictions"]), expected, atol=1e-5)

    def bad(_):
        return rest(server, "/v1/models/nope:predict", {"instances": [[0]]})[0] == 404

    with ThreadPoolExecutor(8) as pool:
        goods = [pool.submit(good, i) for i in range(24)]
        bads = [pool.submit(bad, i) for i in range(8)]
        assert all(f.result() for f in goods) and all(f.result() for f in bads)


def test_grpc_predict_metadata_status(server, served_model, rng):
    import grpc
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    from torch2tf.native_logs import import_tensorflow

    tf = import_tensorflow()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    x = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny"
    request.model_spec.version.value = 1
    request.inputs["image"].CopyFrom(tf.make_tensor_proto(x))
    response = stub.Predict(request, timeout=30)
    assert response.model_spec.version.value == 1
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["output"]), reference(served_model, x), atol=1e-5)

    meta_request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    meta_request.model_spec.name = "other"
    meta = stub.GetModelMetadata(meta_request, timeout=30)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    meta.metadata["signature_def"].Unpack(signatures)
    assert "image" in signatures.signature_def["serving_default"].inputs

    status_request = get_model_status_pb2.GetModelStatusRequest()
    status_request.model_spec.name = "tiny"
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request, timeout=30)
    assert [(s.version, s.state) for s in status.model_version_status] == [
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE), (2, get_model_status_pb2.ModelVersionStatus.AVAILABLE)]

    request.model_spec.name = "nope"
    with pytest.raises(grpc.RpcError) as missing:
        stub.Predict(request, timeout=30)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    request.model_spec.name = "tiny"
    request.inputs["image"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 3, 5, 8), np.float32)))
    with pytest.raises(grpc.RpcError) as bad_shape:
        stub.Predict(request, timeout=30)
    assert bad_shape.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_smoke_over_both_protocols(server, served_model, tmp_path, cli_runner, scheme):
    import shutil

    from torch2tf.records import Report
    from torch2tf.validation.report import write_report

    out = tmp_path / "out"
    shutil.copytree(served_model, out)
    write_report(out, Report("served_model"))
    port = server.rest_port if scheme == "http" else server.grpc_port
    result = cli_runner.invoke(main, ["smoke", f"{scheme}://127.0.0.1:{port}", "--model", "tiny", "--from", str(out),
                                      "--requests", "6", "--update-report", "--json"])
    assert result.exit_code == 0, result.output
    assert "parity holds" in result.output and "p95" in result.output
    report = json.loads((out / "report.json").read_text())
    served = next(p for p in report["parity"] if p["target"] == f"served_{'rest' if scheme == 'http' else 'grpc'}")
    assert served["passed"] and served["latency_ms"]["requests"] == 6 and report["passed"]
    assert served["measured"]["at"] and served["measured"]["artifacts"]["saved_model/"]


@pytest.mark.slow
def test_smoke_then_validate_keeps_the_served_row(converted, tmp_path, cli_runner):
    """validate does not ask the server again: it keeps the served row, stamped, beside its new parity."""
    import shutil

    from torch2tf.serve.repository import PackageOptions, package
    from torch2tf.serve.server import LocalServer, ServerOptions

    out = tmp_path / "out"
    shutil.copytree(converted, out)
    package(PackageOptions(source=out, name="tiny", repo=tmp_path / "models"))
    with LocalServer(ServerOptions(repo=tmp_path / "models", rest_port=0, grpc_port=0)) as running:
        result = cli_runner.invoke(main, ["smoke", f"http://127.0.0.1:{running.rest_port}", "--model", "tiny",
                                          "--from", str(out), "--requests", "4", "--update-report"])
    assert result.exit_code == 0, result.output
    served = next(p for p in json.loads((out / "report.json").read_text())["parity"] if p["target"] == "served_rest")
    assert cli_runner.invoke(main, ["validate", str(out), "-q", "--no-localize"]).exit_code == 0
    kept = json.loads((out / "report.json").read_text())
    row = next(p for p in kept["parity"] if p["target"] == "served_rest")
    assert row["carried_over"] and not row["stale"] and row["measured"] == served["measured"]
    assert "kept from smoke at" in (out / "report.md").read_text()


def test_smoke_detects_a_wrong_model(server, served_model, tmp_path, cli_runner):
    """The served 'tiny' answered for a directory whose ONNX computes something else: exit 3."""
    import shutil

    import onnx
    from onnx import numpy_helper

    out = tmp_path / "out"
    shutil.copytree(served_model, out)
    model = onnx.load(str(out / "model.onnx"))
    for init in model.graph.initializer:
        if len(init.dims) == 4:  # the conv weight
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 2.0, init.name))
    onnx.save(model, str(out / "model.onnx"))
    result = cli_runner.invoke(main, ["smoke", f"http://127.0.0.1:{server.rest_port}", "--model", "tiny",
                                      "--from", str(out), "--requests", "2"])
    assert result.exit_code == 3 and "PARITY FAILED" in result.output


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_smoke_waits_for_a_server_that_starts_later(repo, served_model, tmp_path, scheme):
    """`--wait`: the server comes up 2 s after smoke started asking; smoke says it waits, then passes."""
    import socket

    from torch2tf.serve.server import LocalServer, ServerOptions

    ports = []
    for _ in range(2):  # two free ports the server will bind once smoke is already waiting
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    url = f"{scheme}://127.0.0.1:{ports[0] if scheme == 'http' else ports[1]}"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    smoke = subprocess.Popen([sys.executable, "-m", "torch2tf", "smoke", url, "--model", "tiny", "--from",
                              str(served_model), "--requests", "2", "--wait", "120"],
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert smoke.stderr.readline().startswith(f"waiting up to 120 s for {url} to serve 'tiny'")
        time.sleep(2)
        with LocalServer(ServerOptions(repo=repo, rest_port=ports[0], grpc_port=ports[1])):
            stderr = smoke.communicate(timeout=120)[1]
    finally:
        smoke.kill()
    assert smoke.returncode == 0, stderr
    assert f"{url} serves 'tiny' (after " in stderr and "parity holds" in stderr


def test_smoke_wait_that_runs_out_is_one_line(served_model, cli_runner):
    result = cli_runner.invoke(main, ["smoke", "http://127.0.0.1:9", "--model", "tiny", "--from", str(served_model),
                                      "--wait", "1"])
    assert result.exit_code == 1
    assert "error: http://127.0.0.1:9 did not serve 'tiny' within 1 s: " in result.output


def test_smoke_unreachable_endpoint(served_model, cli_runner):
    result = cli_runner.invoke(main, ["smoke", "http://127.0.0.1:9", "--model", "tiny", "--from", str(served_model),
                                      "--requests", "1"])
    assert result.exit_code == 1 and "cannot reach" in result.output


def test_serve_command_stops_cleanly_on_sigterm(repo):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "torch2tf", "serve", str(repo), "--rest-port", "0",
                             "--grpc-port", "0"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        lines = []
        while time.time() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if line.startswith("REST http://127.0.0.1:"):
                break
        port = int(lines[-1].split()[1].rsplit(":", 1)[1])
        status, _ = rest(type("S", (), {"rest_port": port})(), "/v1/models/tiny")
        assert status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        proc.kill()
