"""A real conversion of every example (slow): artifacts, serving signature, parity at batch 1 and 3."""
from __future__ import annotations

import json

import pytest

from tests.artifacts_check import (
    assert_artifacts,
    assert_served_matches_onnxruntime,
    assert_signature,
    assert_tflite_signatures,
)
from tests.conftest import REPO, run_cli
from torch2tf.inputs import make_inputs
from torch2tf.specs import parse_input_spec

EXAMPLES = {
    # name: (MODEL, --input values, output names)
    "resnet": ("examples/resnet.py:build", ["image:Nx3x64x64"], ["output"]),
    "mobilenet": ("examples/mobilenet.py:build", ["image:Nx3x96x96"], ["output"]),
    "segmentation": ("examples/segmentation.py:build", ["image:Nx3x48x48"], ["output"]),
    "transformer": ("examples.transformer:build", ["tokens:Nx32:int64"], ["output"]),
    "bert": ("examples/bert.py:build", ["input_ids:Nx32:int64", "attention_mask:Nx32:int64"],
             ["last_hidden_state", "pooler_output"]),
    "lstm": ("examples/lstm.py:build", ["sequence:Nx20x16"], ["output"]),
    "two_io": ("examples/two_io.py:build", ["image:Nx3x32x32", "features:Nx12"], ["class_logits", "score"]),
}


PARITY_REPORT = REPO / "reports" / "parity.md"


@pytest.fixture(scope="module")
def parity_collector():
    """Collects each example's parity table; writes reports/parity.md (CI prints it) at the end."""
    sections: dict[str, str] = {}
    yield sections
    if sections:
        PARITY_REPORT.parent.mkdir(exist_ok=True)
        body = ["# Parity of every example model", "",
                "Written by tests/test_examples.py (`make test`); CI prints it in its log.", ""]
        for name in EXAMPLES:
            if name in sections:
                body += [f"## {name}", "", sections[name], ""]
        PARITY_REPORT.write_text("\n".join(body))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_converts_with_parity(name, tmp_path, parity_collector):
    model, inputs, outputs = EXAMPLES[name]
    out = tmp_path / name
    args = ["convert", model, *[a for i in inputs for a in ("--input", i)], "-o", str(out), "--json", "-q"]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = assert_artifacts(out)
    assert json.loads(proc.stdout) == report
    from torch2tf.records import Report
    from torch2tf.validation.markdown import parity_table, summary_line

    conversion = report["conversion"]
    record = Report.from_json(report)
    assert record.passed == report["passed"]  # the verdict read back is the one written
    parity_collector[name] = "\n".join([summary_line(record), "",
                                        f"`{model}` · exporter `{conversion['exporter']}` · strategy "
                                        f"`{conversion['strategy']}`", "", *parity_table(record)[2:]])
    assert report["passed"]
    targets = {p["target"]: p for p in report["parity"]}
    assert {"onnxruntime", "saved_model", "tflite_float32", "tflite_float16"} <= set(targets)
    for entry in targets.values():
        assert entry["passed"] and {"random-batch1", "random-batch3"} <= set(entry["samples"])

    specs = [parse_input_spec(i) for i in inputs]
    assert_signature(out, {s.name: [None if d is None else d for d in s.shape] for s in specs}, outputs)
    vocab = {s.name: 100 for s in specs if s.dtype == "int64"}
    for batch in (1, 3):
        assert_served_matches_onnxruntime(out, make_inputs(specs, batch, seed=99, vocab=vocab))
    assert_tflite_signatures(out, make_inputs(specs, 1, seed=99, vocab=vocab))
