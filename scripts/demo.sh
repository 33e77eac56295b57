#!/usr/bin/env bash
# `make demo`: convert the ResNet example, package it for TF Serving, serve it locally, and check
# parity over REST and gRPC. Prints where the report is.
set -euo pipefail
BIN=${BIN:-.venv/bin}
OUT=${DEMO_OUT:-out/resnet}
REPO=${DEMO_REPO:-out/models}
REST_PORT=${REST_PORT:-8501}
GRPC_PORT=${GRPC_PORT:-8500}

echo "== converting examples/resnet.py (export, SavedModel, TFLite, parity of every artifact)"
"$BIN/torch2tf" convert examples/resnet.py:build --input image:Nx3x224x224 -o "$OUT" --force
rm -rf "$REPO"
echo "== packaging it as a TF Serving model repository"
"$BIN/torch2tf" package "$OUT" --name resnet --repo "$REPO"

echo "== serving $REPO locally (REST :$REST_PORT, gRPC :$GRPC_PORT)"
"$BIN/torch2tf" serve "$REPO" --rest-port "$REST_PORT" --grpc-port "$GRPC_PORT" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
"$BIN/torch2tf" smoke "http://127.0.0.1:$REST_PORT" --model resnet --from "$OUT" --update-report --wait 120
"$BIN/torch2tf" smoke "grpc://127.0.0.1:$GRPC_PORT" --model resnet --from "$OUT" --update-report --wait 30
echo
echo "Report: $(cd "$OUT" && pwd)/report.md"
echo "TF Serving repository: $(cd "$REPO" && pwd)  (docker build -t resnet-serving $REPO)"
