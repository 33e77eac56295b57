"""Operator compatibility: the measured table, `check`, the early stop in `convert`, TFLite truth."""
from __future__ import annotations

import json
import textwrap

import pytest

from tests.conftest import run_cli
from tests.test_examples import EXAMPLES
from torch2tf.cli import main

BAD_MODELS = textwrap.dedent('''
    import torch
    from torch import nn


    class Spectrum(nn.Module):
        def forward(self, x):
            return torch.fft.rfft(x, dim=-1).abs()


    class Inverse(nn.Module):
        def forward(self, x):
            return torch.linalg.inv(x @ x.transpose(-1, -2) + torch.eye(4))


    class RawErf(nn.Module):
        def forward(self, x):
            return torch.erf(x) * 2.0


    def spectrum():
        return Spectrum()


    def inverse():
        return Inverse()


    def raw_erf():
        return RawErf()


    class BatchPositions(nn.Module):
        def forward(self, x):
            return x + torch.arange(x.shape[0], dtype=x.dtype)[:, None]


    def batch_positions():
        return BatchPositions()
''')


@pytest.fixture
def bad_models(tmp_path):
    path = tmp_path / "bad_models.py"
    path.write_text(BAD_MODELS)
    return path


def test_check_names_unconvertible_op_and_source_line(bad_models, cli_runner):
    result = cli_runner.invoke(main, ["check", f"{bad_models}:spectrum", "-i", "x:Nx16", "-q"])
    assert result.exit_code == 1
    assert "DFT" in result.output and "unsupported" in result.output
    assert f"{bad_models}:8" in result.output  # the rfft line


def test_check_names_unexportable_op(bad_models, cli_runner):
    result = cli_runner.invoke(main, ["check", f"{bad_models}:inverse", "-i", "x:Nx4x4", "-q"])
    assert result.exit_code == 1
    assert "aten::linalg_inv" in result.output and "Traceback" not in result.output


def test_check_json_and_builtins_only(bad_models, cli_runner):
    result = cli_runner.invoke(main, ["check", f"{bad_models}:raw_erf", "-i", "x:Nx8", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and {o["op_type"]: o["status"] for o in data["operators"]}["Erf"] == "flex"
    strict = cli_runner.invoke(main, ["check", f"{bad_models}:raw_erf", "-i", "x:Nx8", "--tflite-builtins-only", "-q"])
    assert strict.exit_code == 1 and "Erf" in strict.output and "Flex" in strict.output


def test_convert_stops_before_onnx2tf(bad_models, tmp_path, cli_runner):
    out = tmp_path / "out"
    result = cli_runner.invoke(main, ["convert", f"{bad_models}:spectrum", "-i", "x:Nx16", "-o", str(out)])
    assert result.exit_code == 1
    assert "operators that will not convert" in result.output and "DFT" in result.output
    assert f"{bad_models}:8" in result.output
    assert "[convert]" not in result.output  # stopped before any conversion attempt
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_check_passes_on_every_example(name):
    model, inputs, _ = EXAMPLES[name]
    proc = run_cli("check", model, *[a for i in inputs for a in ("--input", i)], "--json", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert json.loads(proc.stdout)["blocking"] == []


def test_convert_builtins_only_stops_on_flex(bad_models, tmp_path, cli_runner):
    out = tmp_path / "out"
    result = cli_runner.invoke(main, ["convert", f"{bad_models}:raw_erf", "-i", "x:Nx8", "-o", str(out),
                                      "--tflite-builtins-only"])
    assert result.exit_code == 1
    assert "Erf" in result.output and "flex" in result.output and not out.exists()


def test_only_ops_without_any_converter_block():
    from torch2tf.conversion.op_support import status_of

    assert status_of({"status": "unsupported", "note": "No module named 'onnx2tf.ops.DFT'", "converter": False})[0] \
        == "unsupported"
    status, note = status_of({"status": "unsupported", "note": "IndexError: list index out of range", "converter": True})
    assert status == "uncertain" and "may convert in context" in note
    assert status_of({"status": "flex", "note": "needs FlexErf", "converter": True}) == ("flex", "needs FlexErf")


def test_check_judges_the_graph_onnx2tf_sees(bad_models, cli_runner):
    """Range fed by the batch size stays after onnxsim: measured failing alone, it must not block."""
    result = cli_runner.invoke(main, ["check", f"{bad_models}:batch_positions", "-i", "x:Nx6", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    statuses = {o["op_type"]: o["status"] for o in data["operators"]}
    assert statuses.get("Range") == "uncertain" and data["blocking"] == []
