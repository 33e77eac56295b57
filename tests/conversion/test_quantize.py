"""Quantized TFLite variants on a small CNN, the int8 preset, calibration inputs, and bench."""
from __future__ import annotations

import json
import shutil
import textwrap

import numpy as np
import pytest

from tests.artifacts_check import assert_tflite_signatures
from tests.conftest import REPO
from torch2tf.cli import main

pytestmark = pytest.mark.slow

SMALL_MODELS = textwrap.dedent('''
    import torch
    from torch import nn


    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
            self.fc = nn.Linear(16, 10)

        def forward(self, image):
            return self.fc(self.features(image).mean(dim=(2, 3)))


    class StridedStem(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
            self.fc = nn.Linear(8, 10)

        def forward(self, image):
            return self.fc(self.features(image).mean(dim=(2, 3)))


    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(50, 8)
            self.fc = nn.Linear(8, 3)

        def forward(self, tokens):
            return self.fc(self.embed(tokens).mean(dim=1))


    def build():
        torch.manual_seed(0)
        return SmallCNN()


    def tagger():
        torch.manual_seed(0)
        return Tagger()


    def strided_stem():
        torch.manual_seed(0)
        return StridedStem()
''')


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("quant")
    (root / "small.py").write_text(SMALL_MODELS)
    rng = np.random.default_rng(7)
    np.savez(root / "calib.npz", image=((rng.random((32, 3, 16, 16)) - 0.45) / 0.226).astype(np.float32))
    np.savez(root / "garbage.npz", image=(rng.standard_normal((32, 3, 16, 16)) * 1000).astype(np.float32))
    return root


def _convert(small, out, *extra):
    from click.testing import CliRunner

    return CliRunner().invoke(main, ["convert", f"{small / 'small.py'}:build", "-i", "image:Nx3x16x16", "-o", str(out),
                                     "-q", *extra])


def _tensor_types(path):
    from torch2tf.native_logs import make_interpreter

    interpreter = make_interpreter(str(path), 1)
    details = interpreter.get_tensor_details()
    return (interpreter.get_input_details()[0]["dtype"], interpreter.get_output_details()[0]["dtype"],
            {np.dtype(d["dtype"]).name for d in details})


def test_dynamic_and_int8_variants(small, tmp_path):
    out = tmp_path / "out"
    result = _convert(small, out, "--quantize", "dynamic", "--quantize", "int8", "--calibration",
                      str(small / "calib.npz"))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    targets = {p["target"]: p for p in report["parity"]}
    for target in ("tflite_dynamic_range_quant", "tflite_integer_quant"):
        entry = targets[target]
        assert entry["preset"] == "int8" and entry["passed"] and entry["gating"] is False
        output = entry["outputs"][0]
        assert output["cosine"] >= 0.98 and output["top1"] >= 0.9 and output["max_abs"] > 0
    in_type, out_type, types = _tensor_types(out / "tflite" / "model_integer_quant.tflite")
    assert in_type == np.float32 and out_type == np.float32 and "int8" in types  # int8 inside, float I/O
    in_type, _, types = _tensor_types(out / "tflite" / "model_dynamic_range_quant.tflite")
    assert in_type == np.float32 and "int8" in types  # int8 weights
    sizes = {p.name: p.stat().st_size for p in (out / "tflite").iterdir()}
    assert sizes["model_integer_quant.tflite"] < sizes["model_float32.tflite"]  # tiny model: headers dominate
    assert_tflite_signatures(out, {"image": np.random.default_rng(3).standard_normal((1, 3, 16, 16), np.float32)})


def test_int8_io(small, tmp_path):
    out = tmp_path / "out"
    result = _convert(small, out, "--quantize", "int8", "--calibration", str(small / "calib.npz"), "--int8-io",
                      "--tflite-layout", "nchw")
    assert result.exit_code == 0, result.output
    in_type, out_type, _ = _tensor_types(out / "tflite" / "model_full_integer_quant.tflite")
    assert in_type == np.int8 and out_type == np.int8
    from ai_edge_litert.interpreter import Interpreter

    signature = Interpreter(str(out / "tflite" / "model_full_integer_quant.tflite")).get_signature_runner()
    image = signature.get_input_details()["image"]
    assert list(image["shape_signature"][1:]) == [3, 16, 16] and image["quantization"][0] > 0  # NCHW, int8 scale kept
    assert json.loads((out / "report.json").read_text())["passed"]
    from click.testing import CliRunner

    assert CliRunner().invoke(main, ["validate", str(out), "-q"]).exit_code == 0  # validate reads the variants


def test_int8_preset_catches_garbage_calibration(small, tmp_path):
    out = tmp_path / "out"
    result = _convert(small, out, "--quantize", "int8", "--calibration", str(small / "garbage.npz"))
    assert result.exit_code == 0, result.output  # reported, not fatal by default
    report = json.loads((out / "report.json").read_text())
    entry = next(p for p in report["parity"] if p["target"] == "tflite_integer_quant")
    assert not entry["passed"] and report["passed"]
    assert "int8 preset" in (out / "report.md").read_text()
    strict = _convert(small, tmp_path / "strict", "--quantize", "int8", "--calibration",
                      str(small / "garbage.npz"), "--strict-quant")
    assert strict.exit_code == 3


def test_image_folder_and_random_calibration(small, tmp_path, rng):
    from torch2tf.native_logs import import_tensorflow

    tf = import_tensorflow()
    images = tmp_path / "images"
    images.mkdir()
    for i in range(4):
        pixels = rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)
        (images / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    result = _convert(small, tmp_path / "a", "--quantize", "int8", "--calibration", str(images))
    assert result.exit_code == 0, result.output
    result = _convert(small, tmp_path / "b", "--quantize", "int8", "--calibration", "random")
    assert result.exit_code == 0, result.output
    notes = json.loads((tmp_path / "b" / "report.json").read_text())["notes"]
    assert any("RANDOM data" in n for n in notes)


@pytest.mark.parametrize("setup, message", [
    (lambda d: (d / "empty").mkdir(), "no images"),
    (lambda d: ((d / "bad").mkdir(), (d / "bad" / "x.png").write_bytes(b"not a png")), "cannot read image"),
    (lambda d: np.savez(d / "wrong.npz", pixels=np.zeros((2, 3, 16, 16), np.float32)), "missing ['image']"),
    (lambda d: np.savez(d / "shape.npz", image=np.zeros((2, 3, 8, 16), np.float32)), "shape mismatch"),
])
def test_bad_calibration_one_clear_line(small, tmp_path, setup, message):
    setup(tmp_path)
    target = next(p for p in tmp_path.iterdir())
    result = _convert(small, tmp_path / "out", "--quantize", "int8", "--calibration", str(target))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_int8_failure_keeps_float_artifacts_and_fails_the_run(small, tmp_path):
    """onnx2tf refuses INT8 for integer (token id) inputs: the float files are written, and the int8 file
    that was asked for and not made fails its row and the run (exit 3), never a pass over 'did not run'."""
    from click.testing import CliRunner

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", f"{small / 'small.py'}:tagger", "-i", "tokens:Nx6:int64",
                                       "-o", str(out), "-q",
                                       "--quantize", "int8", "--calibration", "random"])
    assert result.exit_code == 3, result.output
    report = json.loads((out / "report.json").read_text())
    assert any("int8 quantization failed, float artifacts kept" in n for n in report["notes"])
    assert (out / "tflite" / "model_float32.tflite").exists()
    entry = next(p for p in report["parity"] if p["target"] == "tflite_integer_quant")
    assert not report["passed"] and not entry["passed"] and entry["errors"]
    summary = (out / "report.md").read_text().splitlines()[2]
    assert "FAILED" in summary and "tflite_integer_quant (did not run)" in summary


def test_int8_of_a_two_input_two_output_model_keeps_the_names(tmp_path):
    """The TFLite converter's int8 file lists its inputs sorted by name and its outputs as output_0/1;
    every .tflite file still answers under the PyTorch names and the int8 row is validated."""
    from ai_edge_litert.interpreter import Interpreter
    from click.testing import CliRunner

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", "examples/two_io.py:build", "-i", "image:Nx3x32x32",
                                       "-i", "features:Nx12", "-o", str(out), "-q",
                                       "--quantize", "int8", "--calibration", "random"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    entry = next(p for p in report["parity"] if p["target"] == "tflite_integer_quant")
    assert entry["passed"] and {o["name"] for o in entry["outputs"]} == {"class_logits", "score"}
    for path in sorted((out / "tflite").glob("*.tflite")):
        signature = Interpreter(model_path=str(path)).get_signature_list()["serving_default"]
        assert sorted(signature["outputs"]) == ["class_logits", "score"], path.name
        assert sorted(signature["inputs"]) == ["features", "image"], path.name
    assert CliRunner().invoke(main, ["validate", str(out), "-q"]).exit_code == 0


def test_int8_of_a_strided_stem_with_the_input_layout_kept(small, tmp_path):
    """keep-layout (a strategy --tune may pick) leaves the input [N, C, H, W]; the int8 stem fold into a
    SpaceToDepth, which onnx2tf lowers channel-last, would make the int8 conversion fail there."""
    from click.testing import CliRunner

    from torch2tf.tflite.inventory import read_tflite_ops

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", f"{small / 'small.py'}:strided_stem", "-i", "image:Nx3x16x16",
                                       "-o", str(out), "-q", "--strategy", "static-batch+keep-layout",
                                       "--quantize", "int8", "--calibration", "random"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert not [n for n in report["notes"] if "quantization failed" in n], report["notes"]
    assert next(p for p in report["parity"] if p["target"] == "tflite_integer_quant")["passed"]
    assert "SPACE_TO_DEPTH" not in read_tflite_ops(out / "tflite" / "model_integer_quant.tflite").counts


def test_bench_produces_every_row(converted, tmp_path, cli_runner):
    out = tmp_path / "out"
    shutil.copytree(converted, out)
    result = cli_runner.invoke(main, ["bench", str(out), "--threads", "1", "--batch", "1,2", "--rounds", "3"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    rows = report["benchmark"]["rows"]
    runtimes = {"torch", "onnxruntime", "saved_model", "tflite_float32", "tflite_float16"}
    assert {(r["runtime"], r["batch"]) for r in rows} == {(rt, b) for rt in runtimes for b in (1, 2)}
    ort = next(r for r in rows if r["runtime"] == "onnxruntime" and r["batch"] == 1)
    assert ort["latency_vs_onnxruntime"] == 1.0 and ort["size_bytes"] > 0
    assert "## Benchmark" in (out / "report.md").read_text()
    assert cli_runner.invoke(main, ["validate", str(out), "-q"]).exit_code == 0  # the manifest stays consistent


def test_bench_bad_batch(converted, cli_runner):
    result = cli_runner.invoke(main, ["bench", str(converted), "--batch", "1,x"])
    assert result.exit_code == 2 and "comma-separated positive integers" in result.output


def test_int8_rewrites_on_the_mobilenet_example(tmp_path):
    """The MobileNet example's hardswish/hardsigmoid: fused (HARD_SWISH) in the float file, spelled out in
    the full-integer one, where LiteRT's own HARD_SWISH/RELU_0_TO_1 int8 kernels split the XNNPACK graph;
    their 1/6 factors folded into weights, the stem as SpaceToDepth + a stride-1 conv (int8 only)."""
    from click.testing import CliRunner

    from torch2tf.tflite.inventory import read_tflite_ops

    out = tmp_path / "out"
    model = f"{REPO / 'examples' / 'mobilenet.py'}:build"
    result = CliRunner().invoke(main, ["convert", model, "-i", "image:Nx3x32x32", "-o", str(out), "-q",
                                       "--quantize", "int8", "--calibration", "random"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    entry = next(p for p in report["parity"] if p["target"] == "tflite_integer_quant")
    assert entry["passed"] and entry["outputs"][0]["cosine"] >= 0.99
    float_ops = read_tflite_ops(out / "tflite" / "model_float32.tflite").counts
    assert "HARD_SWISH" in float_ops and "RELU_0_TO_1" not in float_ops  # hardsigmoid: a conv's RELU6 and a MUL
    int8_ops = read_tflite_ops(out / "tflite" / "model_integer_quant.tflite").counts
    assert not {"HARD_SWISH", "RELU_0_TO_1"} & set(int8_ops) and int8_ops["CONV_2D"] >= 10
    # 10 hardswish and 3 squeeze-excite gates, and the one 1/6 left unfolded (the stem's hardswish also feeds
    # a residual Add); the other twelve 1/6 factors went into the convolutions' and the classifier's weights
    assert int8_ops["MUL"] == 14
    # the 3-channel stride-2 stem: blocks of 2×2 pixels as 12 channels, a 2×2-tap stride-1 conv (int8 only)
    assert int8_ops["SPACE_TO_DEPTH"] == 1
    assert "SPACE_TO_DEPTH" not in read_tflite_ops(out / "tflite" / "model_float32.tflite").counts
