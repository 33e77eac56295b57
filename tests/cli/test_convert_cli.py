"""The CLI contract: help, exit codes, one clear line per bad input, nothing left behind."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO, run_cli
from torch2tf.cli import main

HEAVY = ("torch", "tensorflow", "onnxruntime", "onnx2tf", "onnx", "onnxsim", "transformers", "sympy", "grpc",
         "tensorflow_serving", "ray", "matplotlib", "scipy")


def test_help_imports_no_framework():
    """What keeps --help well under a second is that it imports none of the heavy packages (asserted, not timed:
    a busy machine makes timings flaky)."""
    proc = subprocess.run([sys.executable, "-c", "import sys; from torch2tf.cli import main\n"
                           "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
                           f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
                           "print('HEAVY', heavy)"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "convert" in proc.stdout
    assert "HEAVY []" in proc.stdout, proc.stdout[-300:]


@pytest.mark.slow
def test_the_program_exits_with_its_code_and_every_line(tiny_models, tmp_path):
    """``python -m torch2tf`` leaves past torch's and TensorFlow's native teardown (os._exit, ~1.5 s):
    the exit code, the last line on stderr and the JSON on stdout still come out whole."""
    out = tmp_path / "out"
    ok = run_cli("convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "-o", str(out), "--json")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ok.stderr.rstrip().splitlines()[-1] == f"parity holds; report: {out / 'report.md'}"
    assert json.loads(ok.stdout)["passed"] is True
    failed = run_cli("convert", f"{tiny_models}:strict", "--input", "x:Nx7", "-o", str(tmp_path / "bad"))
    assert failed.returncode == 1
    assert failed.stderr.rstrip().splitlines()[-1].startswith("error: forward() raised RuntimeError")


def test_convert_help_explains_every_option(cli_runner):
    result = cli_runner.invoke(main, ["convert", "--help"])
    assert result.exit_code == 0
    for option in ("--input", "--input-data", "--output", "--force", "--opset", "--layout", "--output-names",
                   "--seed", "--quiet", "--json", "--work-dir"):
        assert option in result.output
    assert "torch2tf convert examples/resnet.py:build --input image:Nx3x224x224 -o out/" in result.output


@pytest.mark.parametrize("args, code, message", [
    (["{models}:build", "--input", "image:3x"], 2, "not a positive size"),
    (["{models}:build", "--input", "image"], 2, "expected NAME:SHAPE"),
    (["{models}:build", "--input", "image:Nx3x8x8:complex64"], 2, "not one of"),
    (["{tmp}/absent.py:build", "--input", "image:Nx3x8x8"], 2, "model file not found"),
    (["{tmp}/absent.onnx"], 2, "model file not found"),
    (["{models}:nope", "--input", "image:Nx3x8x8"], 1, "has no callable named 'nope'"),
    (["{models}:not_a_module", "--input", "image:Nx3x8x8"], 1, "returned int, not a torch.nn.Module"),
    (["{models}:build"], 2, "needs --input"),
    (["{models}:strict", "--input", "x:Nx7"], 1, "forward() raised RuntimeError on inputs x=1x7:float32"),
    (["{models}:build", "--input-data", "{tmp}/absent.npz"], 2, "--input-data file not found"),
    (["{models}:build", "--input", "image:Nx3x8x8:int64"], 1, "forward() raised"),
    (["something-without-a-callable"], 2, "cannot read MODEL"),
])
def test_bad_input_one_clear_line(cli_runner, tiny_models, tmp_path, args, code, message):
    out = tmp_path / "out"
    args = [a.format(models=tiny_models, tmp=tmp_path) for a in args]
    result = cli_runner.invoke(main, ["convert", *args, "-o", str(out), "-q"])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert sum("rror" in ln for ln in result.output.splitlines()) == 1  # one error line (click adds usage)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")], "staging directory left behind"


def test_npz_dtype_mismatch(cli_runner, tiny_models, tmp_path):
    np.savez(tmp_path / "data.npz", image=np.zeros((2, 3, 8, 8), np.float64))
    result = cli_runner.invoke(main, ["convert", f"{tiny_models}:build", "--input", "image:Nx3x8x8",
                                      "--input-data", str(tmp_path / "data.npz"), "-o", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 2
    assert "dtype mismatch for input 'image': the data is float64, the input is float32" in result.output


def test_non_empty_output_needs_force(cli_runner, tiny_models, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = cli_runner.invoke(main, ["convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "-o", str(out)])
    assert result.exit_code == 2
    assert "is not empty" in result.output and "--force" in result.output
    assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("target, message", [
    ("{tmp}/a_file/out", "cannot create the parent directory"),
    ("/proc/torch2tf-out", "cannot create a directory"),
])
def test_unusable_output_directory(cli_runner, tiny_models, tmp_path, target, message):
    (tmp_path / "a_file").write_text("")
    result = cli_runner.invoke(main, ["convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8",
                                      "-o", target.format(tmp=tmp_path)])
    assert result.exit_code == 2
    assert message in result.output


def test_output_path_that_is_a_file(cli_runner, tiny_models, tmp_path):
    (tmp_path / "f").write_text("")
    result = cli_runner.invoke(main, ["convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8",
                                      "-o", str(tmp_path / "f")])
    assert result.exit_code == 2


def test_tune_keeps_the_earliest_rung_unless_a_later_one_is_clearly_faster():
    from types import SimpleNamespace

    from torch2tf.pipeline.ladder import tuned_choice

    def attempt(name, ms, failed=0):
        return SimpleNamespace(name=name, tflite_ms=ms, failed_targets=lambda: failed)

    assert tuned_choice([attempt("dynamic", 1.3209), attempt("static", 1.39), attempt("keep", 1.3187)]).name == "dynamic"
    assert tuned_choice([attempt("dynamic", 0.084), attempt("static", 0.062)]).name == "static"  # 26% faster
    assert tuned_choice([attempt("fails fp16", 0.5, 1), attempt("holds", 1.0)]).name == "holds"
    assert tuned_choice([attempt("only", None)]).name == "only"


@pytest.mark.slow
def test_tune_converts_with_every_strategy_and_keeps_the_fastest_that_holds(tiny_models, tmp_path, cli_runner):
    out = tmp_path / "out"
    result = cli_runner.invoke(main, ["convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "-o", str(out), "-q",
                                      "--tune"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    attempts = report["conversion"]["attempts"]
    timed = [a for a in attempts if "tflite_fp32_ms" in a]
    assert len(attempts) == 4 and len(timed) >= 2  # every strategy tried; those that hold parity timed
    assert all(a["status"] == "ok" and a["tflite_fp32_ms"] > 0 for a in timed)
    chosen = next(a for a in timed if a["strategy"] == report["conversion"]["strategy"])
    assert chosen["tflite_fp32_ms"] <= 1.05 * min(a["tflite_fp32_ms"] for a in timed)
    assert all(a["tflite_fp32_ms"] > 1.05 * min(b["tflite_fp32_ms"] for b in timed)
               for a in timed[:timed.index(chosen)])  # an earlier strategy only loses by more than 5%
    manifest = json.loads((out / "manifest.json").read_text())
    assert chosen["strategy"] in json.dumps(manifest)
    assert "--tune: the fastest TFLite fp32 file" in (out / "report.md").read_text()
    assert "the earliest strategy within 5% of it" in (out / "report.md").read_text()
    refused = cli_runner.invoke(main, ["convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "-o",
                                       str(tmp_path / "other"), "--tune", "--strategy", "static-batch"])
    assert refused.exit_code == 2 and "--tune compares the strategies" in refused.output
