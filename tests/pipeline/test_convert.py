"""Real conversions of tiny models through the CLI, one per MODEL form and option (slow)."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from tests.artifacts_check import (
    assert_artifacts,
    assert_served_matches_onnxruntime,
    assert_signature,
    serving_signature,
)
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def _tiny(tiny_models):
    from torch2tf.model_source import load_model

    return load_model(f"{tiny_models}:build").module


def test_input_data_output_names_progress_and_force(tiny_models, tmp_path, rng):
    data = {"image": rng.standard_normal((5, 3, 8, 8)).astype(np.float32)}
    np.savez(tmp_path / "batch.npz", **data)
    out = tmp_path / "out"
    proc = run_cli("convert", f"{tiny_models}:build", "--input-data", str(tmp_path / "batch.npz"),
                   "--output-names", "logits", "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for stage in ("load", "export", "check_onnx", "convert", "parity", "write"):
        assert f"[{stage}] ok in" in proc.stderr
    assert "report: " in proc.stderr and proc.stdout == ""
    report = assert_artifacts(out)
    assert report["inputs"] == [{"name": "image", "shape": ["N", 3, 8, 8], "dtype": "float32"}]
    assert all("input-data" in p["samples"] for p in report["parity"])
    assert_signature(out, {"image": [None, 3, 8, 8]}, ["logits"])
    assert_served_matches_onnxruntime(out, data)

    again = run_cli("convert", f"{tiny_models}:build", "--input-data", str(tmp_path / "batch.npz"), "-o", str(out))
    assert again.returncode == 2 and "not empty" in again.stderr
    forced = run_cli("convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "-o", str(out), "--force", "-q")
    assert forced.returncode == 0 and forced.stderr == ""
    assert_signature(out, {"image": [None, 3, 8, 8]}, ["output"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_onnx_model_skips_export(tiny_models, tmp_path):
    import torch

    torch.onnx.export(_tiny(tiny_models), (torch.randn(2, 3, 8, 8),), str(tmp_path / "tiny.onnx"), dynamo=False,
                      input_names=["pixels"], output_names=["scores"],
                      dynamic_axes={"pixels": {0: "batch"}, "scores": {0: "batch"}})
    out = tmp_path / "out"
    proc = run_cli("convert", str(tmp_path / "tiny.onnx"), "-o", str(out), "-q", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["passed"] and report["export"]["exporter"] == "onnx"
    assert "onnxruntime" not in {p["target"] for p in report["parity"]}  # no torch model to compare with
    assert_signature(out, {"pixels": [None, 3, 8, 8]}, ["scores"])


@pytest.mark.parametrize("kind", ["pt", "pt2"])
def test_torchscript_and_exported_program(tiny_models, tmp_path, kind):
    import torch

    module = _tiny(tiny_models)
    path = tmp_path / f"tiny.{kind}"
    if kind == "pt":
        torch.jit.trace(module, torch.randn(1, 3, 8, 8)).save(str(path))
    else:
        batch = torch.export.Dim("batch", min=1, max=64)
        torch.export.save(torch.export.export(module, (torch.randn(2, 3, 8, 8),),
                                              dynamic_shapes=({0: batch},)), str(path))
    out = tmp_path / "out"
    proc = run_cli("convert", str(path), "-i", "image:Nx3x8x8", "-o", str(out), "-q", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["passed"]
    assert_signature(out, {"image": [None, 3, 8, 8]}, ["output"])


def test_layout_nhwc(tiny_models, tmp_path, rng):
    out = tmp_path / "out"
    proc = run_cli("convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "--layout", "nhwc", "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_signature(out, {"image": [None, 8, 8, 3]}, ["output"])
    from torch2tf.native_logs import import_tensorflow

    tf = import_tensorflow()
    nchw = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    served = serving_signature(out)(image=tf.constant(nchw.transpose(0, 2, 3, 1)))["output"].numpy()
    import onnxruntime as ort

    expected = ort.InferenceSession(str(out / "model.onnx")).run(None, {"image": nchw})[0]
    np.testing.assert_allclose(served, expected, atol=1e-4, rtol=0)


def test_conversion_runs_without_network(tiny_models, tmp_path):
    """A static 1x3xHxW image input is exactly when onnx2tf 1.28.8 downloads sample images."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("cannot create a network namespace here (needs unshare and root)")
    out = tmp_path / "out"
    proc = run_cli("convert", f"{tiny_models}:build", "-i", "image:1x3x32x32", "-o", str(out), "-q",
                   prefix=("unshare", "-n"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_artifacts(out)


def test_static_batch_strategy_restores_dynamic_batch(tiny_models, tmp_path, rng):
    out = tmp_path / "out"
    proc = run_cli("convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "--strategy", "static-batch",
                   "-o", str(out), "-q", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["conversion"]["strategy"] == "static-batch" and report["conversion"]["raw_batch"] == 1
    assert_signature(out, {"image": [None, 3, 8, 8]}, ["output"])
    assert_served_matches_onnxruntime(out, {"image": rng.standard_normal((5, 3, 8, 8)).astype(np.float32)})


def test_unknown_strategy(tiny_models, tmp_path):
    proc = run_cli("convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "--strategy", "warp-drive",
                   "-o", str(tmp_path / "out"), "-q")
    assert proc.returncode == 2 and "dynamic-batch" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_opset_seed_and_work_dir(tiny_models, tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    proc = run_cli("convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "--opset", "19", "--seed", "5",
                   "--work-dir", str(work), "-o", str(out), "-q", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    import onnx

    written = {o.domain: o.version for o in onnx.load(str(out / "model.onnx"), load_external_data=False).opset_import}
    assert report["export"]["opset"] == written[""] == 19
    assert json.loads((out / "manifest.json").read_text())["seed"] == 5
    assert list(work.glob("torch2tf-work-*/dynamo-dynamic-batch/onnx2tf.log"))  # kept for debugging


SPECTRUM = '''
import torch
from torch import nn


class Spectrum(nn.Module):
    def forward(self, x):
        return torch.fft.rfft(x, dim=-1).abs()


def build():
    return Spectrum()
'''


def test_failed_ladder_is_one_line_naming_the_closest_rung(tmp_path):
    """Every strategy fails (onnx2tf has no DFT converter): short lines, one error line, the full story in --json."""
    (tmp_path / "spectrum.py").write_text(SPECTRUM)
    out = tmp_path / "out"
    proc = run_cli("convert", f"{tmp_path / 'spectrum.py'}:build", "-i", "x:Nx16", "--no-op-check",
                   "--strategy", "dynamic-batch", "-o", str(out), "--json")
    assert proc.returncode == 1, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "closest: dynamo/dynamic-batch" in errors[0] and len(errors[0]) < 320
    lines = [line for line in proc.stderr.splitlines() if line.startswith("[convert]   ")]
    assert lines and all(len(line) <= len("[convert]   ") + 200 for line in lines)
    strategies = [line for line in lines if line.startswith("[convert]   dynamo/")]  # the exporter fallback failed too
    error = json.loads(proc.stdout)["error"]
    assert error["stage"] == "convert" and len(error["details"]) == len(strategies) == 1
    assert any("DFT" in detail for detail in error["details"])  # the full reason survives
    assert not out.exists()
