#!/usr/bin/env python
"""The local server under a hostile burst: latency, errors and peak memory, printed side by side.

Starts `torch2tf serve REPO` from the source tree given (so an older checkout can be measured
against this one), then sends 200 concurrent REST predict requests of which 10% are bad (broken
JSON, an unknown model, a negative Content-Length), and one gRPC request declaring a 100000-row
tensor with a single value. Prints p50/p95 latency of the good requests, how many got a wrong
answer, and the server's peak RSS. Numbers for people; nothing is asserted.

    .venv/bin/python benchmarks/serve_hostile.py REPO --model tiny --shape 1x3x8x8 [--source DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]


def _post(port: int, path: str, body: bytes) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body),
                                    timeout=60) as response:
            response.read()
            return response.status, time.perf_counter() - start
    except urllib.error.HTTPError as exc:
        return exc.code, time.perf_counter() - start
    except OSError:
        return -1, time.perf_counter() - start


def _negative_length(port: int) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /v1/models/x:predict HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}")
            answer = sock.recv(64)
        return int(answer.split()[1]) if answer.startswith(b"HTTP/") else -1, time.perf_counter() - start
    except OSError:
        return -1, time.perf_counter() - start


def _grpc_bomb(port: int, model: str, shape: list[int]) -> str:
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    tensor = request.inputs["image"]
    tensor.dtype = 1
    for size in [100000, *shape[1:]]:
        tensor.tensor_shape.dim.add(size=size)
    tensor.float_val.append(1.0)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    try:
        stub.Predict(request, timeout=120)
        return "OK (materialized)"
    except grpc.RpcError as exc:
        return exc.code().name


def _start(source: Path, repo: Path) -> tuple[subprocess.Popen, int, int]:
    env = dict(os.environ, PYTHONPATH=str(source))
    proc = subprocess.Popen([sys.executable, "-m", "torch2tf", "serve", str(repo), "--rest-port", "0",
                             "--grpc-port", "0"], cwd=source, env=env, stderr=subprocess.PIPE, text=True)
    while True:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit("the server did not start")
        if line.startswith("REST http://"):
            parts = line.split()
            return proc, int(parts[1].rsplit(":", 1)[1]), int(parts[3].rsplit(":", 1)[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--shape", default="1x3x8x8", help="the model input's shape, for the good requests")
    parser.add_argument("--source", type=Path, default=ROOT, help="the torch2tf source tree to run the server from")
    args = parser.parse_args()
    shape = [int(d) for d in args.shape.split("x")]
    proc, rest_port, grpc_port = _start(args.source.resolve(), args.repo.resolve())
    server = psutil.Process(proc.pid)
    peak, done = [server.memory_info().rss], threading.Event()

    def watch():
        while not done.is_set():
            peak.append(server.memory_info().rss)
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()
    good = json.dumps({"instances": np.zeros(shape, np.float32).tolist()}).encode()
    bad = [lambda: _post(rest_port, f"/v1/models/{args.model}:predict", b"{broken"),
           lambda: _post(rest_port, "/v1/models/nope:predict", good), lambda: _negative_length(rest_port)]

    def one(i: int) -> tuple[bool, int, float]:
        if i % 10 == 0:
            status, seconds = bad[(i // 10) % 3]()
            return False, status, seconds
        status, seconds = _post(rest_port, f"/v1/models/{args.model}:predict", good)
        return True, status, seconds

    idle = server.memory_info().rss
    with ThreadPoolExecutor(200) as pool:
        results = list(pool.map(one, range(200)))
    burst_peak = max(peak)
    bomb = _grpc_bomb(grpc_port, args.model, shape)
    time.sleep(0.5)
    done.set()
    after = server.memory_info().rss
    proc.terminate()
    proc.wait(timeout=60)
    latencies = np.array([s for ok, _, s in results if ok]) * 1000
    wrong = sum(1 for ok, status, _ in results if (ok and status != 200) or (not ok and not 400 <= status < 500))
    print(f"source {args.source}: good requests p50 {np.percentile(latencies, 50):.0f} ms, "
          f"p95 {np.percentile(latencies, 95):.0f} ms; wrong answers {wrong}/200; "
          f"RSS idle {idle >> 20} MB, burst peak {burst_peak >> 20} MB; gRPC 100000-row bomb: {bomb}, "
          f"peak {max(peak) >> 20} MB, after {after >> 20} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
