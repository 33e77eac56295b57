"""The local server under hostile clients: bounded memory, bounded threads, timeouts, drain, broken versions."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psutil
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
LIMIT = 1 << 20


@pytest.fixture(scope="module")
def server(repo):
    from torch2tf.serve.server import LocalServer, ServerOptions

    with LocalServer(ServerOptions(repo=repo, rest_port=0, grpc_port=0, max_request_bytes=LIMIT,
                                   idle_timeout_s=2)) as running:
        yield running


def post(port: int, path: str, body: bytes, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def raw_http(port: int, head: bytes, body: bytes = b"", wait: float = 10) -> bytes:
    """Send a hand-made request and return whatever comes back before the server closes or ``wait`` ends."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head + body)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def predict_ok(server) -> bool:
    x = np.zeros((1, 3, 8, 8), np.float32)
    status, body = post(server.rest_port, "/v1/models/tiny:predict", json.dumps({"instances": x.tolist()}).encode())
    return status == 200 and len(body["predictions"]) == 1


@pytest.mark.parametrize("length", [b"-1", b"abc", b"1e9"])
def test_bad_content_length_is_refused_at_once(server, length):
    start = time.monotonic()
    answer = raw_http(server.rest_port, b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      + length + b"\r\n\r\n", b"{}", wait=10)
    assert answer.startswith(b"HTTP/1.1 400") and time.monotonic() - start < 5
    assert predict_ok(server)


def test_deeply_nested_json_is_a_400(server):
    status, body = post(server.rest_port, "/v1/models/tiny:predict", b"[" * 200_000)
    assert status == 400 and "JSON Parse error" in body["error"]
    assert predict_ok(server)


def test_a_stuck_client_is_timed_out(server):
    start = time.monotonic()
    answer = raw_http(server.rest_port, b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100"
                      b"\r\n\r\n", b'{"instances"', wait=20)
    assert time.monotonic() - start < 15  # the idle timeout (2 s here, 30 s by default) closed it
    assert not answer.startswith(b"HTTP/1.1 200")
    assert predict_ok(server)


def test_idle_connections_hold_no_threads(server):
    before = threading.active_count()
    sockets = [socket.create_connection(("127.0.0.1", server.rest_port)) for _ in range(300)]
    try:
        time.sleep(0.5)
        assert predict_ok(server)
        assert threading.active_count() - before < 10  # a fixed pool, not a thread per connection
    finally:
        for sock in sockets:
            sock.close()


def test_grpc_declared_shape_is_checked_before_it_is_materialized(server):
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}"))
    process = psutil.Process()
    before = process.memory_info().rss
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny"
    tensor = request.inputs["image"]
    tensor.dtype = 1  # DT_FLOAT
    for size in (100000, 3, 8, 8):
        tensor.tensor_shape.dim.add(size=size)
    tensor.float_val.append(1.0)  # 40 bytes on the wire, 77 MB once expanded
    with pytest.raises(grpc.RpcError) as refused:
        stub.Predict(request, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "beyond the server's limit" in refused.value.details()
    assert process.memory_info().rss - before < 50 << 20
    assert predict_ok(server)


@pytest.mark.parametrize("dtype, field, message", [
    (2, "double_val", "Expects arg[image] to be float32 but float64 is provided"),
    (3, "int_val", "to be float32 but int32 is provided"),
    (10, "bool_val", "to be float32 but bool is provided"),
])
def test_grpc_wrong_dtype_is_refused_not_cast(server, dtype, field, message):
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}"))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny"
    tensor = request.inputs["image"]
    tensor.dtype = dtype
    for size in (1, 3, 8, 8):
        tensor.tensor_shape.dim.add(size=size)
    getattr(tensor, field).extend([1] * 192)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Predict(request, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and message in refused.value.details()


def test_grpc_malformed_content_is_invalid_argument(server):
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}"))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny"
    tensor = request.inputs["image"]
    tensor.dtype = 1
    for size in (1, 3, 8, 8):
        tensor.tensor_shape.dim.add(size=size)
    tensor.tensor_content = b"\x00" * 7  # not a whole number of floats, not 192 of them
    with pytest.raises(grpc.RpcError) as refused:
        stub.Predict(request, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_burst_of_200_with_bad_requests_mixed_in(server, served_model):
    import onnxruntime as ort

    x = np.random.default_rng(3).standard_normal((1, 3, 8, 8)).astype(np.float32)
    expected = ort.InferenceSession(str(served_model / "model.onnx")).run(None, {"image": x})[0]
    good_body = json.dumps({"instances": x.tolist()}).encode()

    def one(i: int) -> bool:
        if i % 10 == 0:
            return post(server.rest_port, "/v1/models/tiny:predict", b"{broken")[0] == 400
        status, body = post(server.rest_port, "/v1/models/tiny:predict", good_body)
        return status == 200 and np.allclose(np.array(body["predictions"]), expected, atol=1e-5)

    with ThreadPoolExecutor(200) as pool:
        assert all(pool.map(one, range(200)))


def test_a_broken_version_does_not_stop_the_others(repo_copy):
    from torch2tf.serve.server import LocalServer, ServerOptions

    (repo_copy / "tiny" / "2" / "saved_model.pb").write_bytes(b"garbage")
    with LocalServer(ServerOptions(repo=repo_copy, rest_port=0, grpc_port=0)) as running:
        assert predict_ok(running)  # the latest good version, 1, answers
        with urllib.request.urlopen(f"http://127.0.0.1:{running.rest_port}/v1/models/tiny", timeout=30) as response:
            states = {s["version"]: s for s in json.loads(response.read())["model_version_status"]}
        assert states["1"]["state"] == "AVAILABLE" and states["2"]["state"] == "END"
        assert states["2"]["status"]["error_message"]
        assert "version 2 failed to load" in running.registry.serving_summary()


def test_sigterm_drains_requests_in_flight(repo, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "torch2tf", "serve", str(repo), "--rest-port", "0",
                             "--grpc-port", "0"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = _rest_port(proc)
        body = json.dumps({"instances": np.zeros((2000, 3, 8, 8), np.float32).tolist()}).encode()  # slow to parse
        with ThreadPoolExecutor(10) as pool:
            answers = [pool.submit(post, port, "/v1/models/tiny:predict", body, 120) for _ in range(10)]
            _wait_for_connections(proc.pid, port, 10)  # accepted, bodies still arriving or being answered
            proc.send_signal(signal.SIGTERM)
            statuses = [a.result()[0] for a in answers]
        assert statuses == [200] * 10
        assert proc.wait(timeout=60) == 0
        # Not the closing "stopped" line: in ~1 run of 8 it is missing from the captured stderr although
        # the server wrote it (seen with the server instrumented), so only the drain and the exit count.
        log = proc.stderr.read()
        assert "stopping: finishing the requests in flight" in log and "Traceback" not in log
    finally:
        proc.kill()


def _wait_for_connections(pid: int, port: int, count: int) -> None:
    """Until the server process holds ``count`` accepted connections on ``port``: they are in flight."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        held = [c for c in psutil.Process(pid).net_connections(kind="tcp")
                if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED]
        if len(held) >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"the server never held {count} connections")


def _rest_port(proc: subprocess.Popen) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("REST http://127.0.0.1:"):
            return int(line.split()[1].rsplit(":", 1)[1])
    raise AssertionError("the server never listened")
