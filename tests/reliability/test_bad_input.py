"""Bad input to every command: one clear line, the right exit code, no traceback, nothing left behind."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.conftest import TINY_MODELS
from tests.reliability.conftest import assert_nothing_left, assert_one_clear_line


@pytest.fixture
def files(tmp_path):
    (tmp_path / "tiny_models.py").write_text(TINY_MODELS)
    (tmp_path / "garbage.pt2").write_bytes(b"not a zip archive")
    (tmp_path / "garbage.onnx").write_bytes(b"\x08\x07garbage")
    (tmp_path / "a-file").write_text("")
    np.savez(tmp_path / "wrong.npz", pixels=np.zeros((1, 3, 8, 8), np.float32))
    return tmp_path


CONVERT_CASES = [
    (["{m}:build", "-i", "image:1x²"], 2, "'²' is not a positive size"),
    (["{m}:build", "-i", "image:1x1000000000000"], 2, "beyond what torch2tf validates"),
    (["{m}:build", "-i", "image:Nx3x8x8", "-i", "image:Nx3x8x8"], 2, "must be unique"),
    (["{m}:build", "-i", "image:Nx3x8x8", "--input-data", "{d}/wrong.npz"], 2, "missing ['image'], unexpected"),
    (["{d}/garbage.pt2", "-i", "x:Nx4"], 1, "is not an ExportedProgram file"),
    (["{d}/garbage.onnx"], 1, "cannot read ONNX file"),
    (["{m}:build", "-i", "image:Nx3x8x8", "--work-dir", "{d}/a-file"], 2, "is a file"),
    (["{m}:build", "-i", "image:Nx3x8x8", "--quantize", "int8"], 2, "needs --calibration"),
    (["{m}:build", "-i", "image:Nx3x8x8", "--tolerance", "fp32:atoll=1"], 2, "is not one of"),
]


@pytest.mark.parametrize("args, code, message", CONVERT_CASES, ids=[c[2][:30] for c in CONVERT_CASES])
def test_convert_bad_input(sandbox, files, args, code, message):
    out = files / "out"
    run = sandbox.run("convert", *[a.format(m=files / "tiny_models.py", d=files) for a in args], "-o", str(out))
    assert_one_clear_line(run, code, message)
    assert_nothing_left(run, out)


@pytest.mark.slow
def test_a_tolerance_typo_is_never_ignored(sandbox, files):
    out = files / "out"
    run = sandbox.run("convert", f"{files / 'tiny_models.py'}:build", "-i", "image:Nx3x8x8", "-o", str(out),
                      "--tolerance", "fp23:atol=1")
    assert_one_clear_line(run, 2, "'fp23' is neither a preset (fp32, fp16, int8) nor an output")
    assert_nothing_left(run, out)


@pytest.fixture
def output_copy(converted, tmp_path):
    copy = tmp_path / "converted"
    shutil.copytree(converted, copy)
    return copy


PACKAGE_CASES = [
    (["--name", "m", "--repo", "{d}/a-file/repo"], 2, "is a file, not a directory"),
    (["--name", "abc\n", "--repo", "{d}/repo"], 2, "is not allowed"),
    (["--name", "../up", "--repo", "{d}/repo"], 2, "is not allowed"),
    (["--name", "m", "--repo", "{d}/repo", "--version", "18446744073709551616"], 2, "is not in the range"),
    (["--name", "m", "--repo", "{d}/repo", "--version", "0"], 2, "is not in the range"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args, code, message", PACKAGE_CASES, ids=[c[2] for c in PACKAGE_CASES])
def test_package_bad_input(sandbox, output_copy, tmp_path, args, code, message):
    (tmp_path / "a-file").write_text("")
    run = sandbox.run("package", str(output_copy), *[a.format(d=tmp_path) for a in args])
    assert_one_clear_line(run, code, message)
    assert not (tmp_path / "repo" / "m").exists() and run.leftovers() == []


@pytest.mark.slow
def test_package_refuses_a_garbage_saved_model(sandbox, output_copy, tmp_path):
    (output_copy / "saved_model" / "saved_model.pb").write_bytes(b"garbage")
    run = sandbox.run("package", str(output_copy), "--name", "m", "--repo", str(tmp_path / "repo"))
    assert_one_clear_line(run, 2, "is not a SavedModel")
    assert not (tmp_path / "repo" / "m").exists()


@pytest.mark.slow
@pytest.mark.parametrize("args, damage, message", [
    (["--batch", "100000"], None, "is too large"),
    ([], "report.json", "is not valid JSON"),
])
def test_bench_bad_input(sandbox, output_copy, args, damage, message):
    if damage:
        (output_copy / damage).write_text("{not json")
    run = sandbox.run("bench", str(output_copy), *args)
    assert_one_clear_line(run, 2, message)


@pytest.mark.slow
@pytest.mark.parametrize("damage, message", [
    (b"model_config_list { config { name: ", "is not a valid ModelServerConfig"),
    (None, "is not a model repository"),
])
def test_serve_bad_repository(sandbox, repo_copy, damage, message):
    if damage is None:
        (repo_copy / "models.config").unlink()
    else:
        (repo_copy / "models.config").write_bytes(damage)
    run = sandbox.run("serve", str(repo_copy), "--rest-port", "0", "--grpc-port", "0", timeout=120)
    assert_one_clear_line(run, 2, message)
