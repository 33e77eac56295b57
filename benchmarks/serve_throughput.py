#!/usr/bin/env python
"""Requests/s of `torch2tf serve` over REST and gRPC, measured side by side in one run.

    .venv/bin/python benchmarks/serve_throughput.py out/models --model resnet --from out/resnet

Starts the local server on 127.0.0.1 (ephemeral ports), sends a bounded number of batch-1
requests from a few concurrent clients per protocol, and prints requests/s and the gRPC/REST
ratio. No assertions: numbers for people.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--from", dest="directory", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=60, help="per protocol")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    from torch2tf.artifacts import read_manifest
    from torch2tf.inputs import make_inputs
    from torch2tf.native_logs import import_tensorflow
    from torch2tf.specs import TensorSpec

    specs = [TensorSpec.from_json(i) for i in read_manifest(args.directory)["inputs"]]
    feeds = make_inputs(specs, 1, seed=0)
    proc = subprocess.Popen([sys.executable, "-m", "torch2tf", "serve", str(args.repo), "--rest-port", "0",
                             "--grpc-port", "0"], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        line = ""
        while not line.startswith("REST "):
            line = proc.stderr.readline()
            if not line:
                raise SystemExit("the server did not start")
        rest_url, grpc_target = line.split()[1], line.split()[3].replace("grpc://", "")
        tf = import_tensorflow()
        import grpc
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        body = json.dumps({"inputs": {k: v.tolist() for k, v in feeds.items()}}).encode()

        def rest_call(_):
            request = urllib.request.Request(f"{rest_url}/v1/models/{args.model}:predict", data=body)
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()

        channel = grpc.insecure_channel(grpc_target)
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        grpc_request = predict_pb2.PredictRequest()
        grpc_request.model_spec.name = args.model
        for name, value in feeds.items():
            grpc_request.inputs[name].CopyFrom(tf.make_tensor_proto(value))

        def grpc_call(_):
            stub.Predict(grpc_request, timeout=60)

        results = {}
        for name, call in (("REST", rest_call), ("gRPC", grpc_call)):
            for i in range(3):  # warm-up
                call(i)
            start = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(call, range(args.requests)))
            results[name] = args.requests / (time.perf_counter() - start)
            print(f"{name:5s} {results[name]:7.1f} requests/s  ({args.requests} requests, {args.clients} clients, batch 1)")
        print(f"gRPC/REST throughput ratio: {results['gRPC'] / results['REST']:.2f}")
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
