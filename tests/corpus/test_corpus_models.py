"""Hugging Face models as users hold them convert with `--input` names and nothing else (slow).

The whole corpus runs in `make coverage`; these are the cases the pipeline's binding and mask rules
exist for, kept in the test suite so a regression fails `make test`.
"""
from __future__ import annotations

import json

import pytest

from tests.artifacts_check import assert_artifacts, assert_signature
from tests.conftest import run_cli

pytestmark = pytest.mark.slow
TOKENS = ["-i", "input_ids:Nx16:int64", "-i", "attention_mask:Nx16:int64"]


@pytest.mark.parametrize("builder", ["bert_sequence_classification", "gpt2_lm_head"])
def test_keyword_inputs_and_transformers_masks(tmp_path, builder):
    """GPT-2's second parameter is past_key_values: attention_mask must still land on attention_mask."""
    out = tmp_path / builder
    proc = run_cli("convert", f"tests/corpus/models.py:{builder}", *TOKENS, "-o", str(out), "-q", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert_artifacts(out)
    conversion = report["conversion"]
    assert conversion["exporter"] == "dynamo"
    assert conversion["raw_batch"] is None  # a native dynamic batch, not rows mapped over a batch of 1
    assert conversion["tflite"]["tflite_float32"]["builtin_only"]
    assert any(r["rewrite"] == "index_grid" for r in conversion["rewrites"])  # the transformers mask was rewritten
    assert_signature(out, {"input_ids": [None, 16], "attention_mask": [None, 16]}, ["logits"])


def test_forward_args_wrapper_keeps_the_dynamo_exporter(tmp_path):
    out = tmp_path / "vit"
    proc = run_cli("convert", "tests/corpus/models.py:vit_wrapped", "-i", "pixel_values:Nx3x32x32", "-o", str(out),
                   "-q", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["export"]["attempts"][0] == {"exporter": "dynamo", "status": "ok", "reason": ""}
    assert report["conversion"]["tflite"]["tflite_float32"]["builtin_only"]  # GELU fused, no FlexErf
    assert_signature(out, {"pixel_values": [None, 3, 32, 32]}, ["output"])
