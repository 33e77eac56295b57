"""The convert-many manifest: every entry checked against convert's own options before anything runs."""
from __future__ import annotations

import json
import textwrap

import pytest

from torch2tf.cli.many import convert_option_table
from torch2tf.errors import ConversionError, ExportError, InputSpecError, ModelRunError, UsageError
from torch2tf.fanout.manifest import default_name, read_manifest
from torch2tf.fanout.tasks import ConvertTask, judge
from torch2tf.records import ErrorRecord, FailedRun, ParityEntry, Report

TOML = """
[defaults]
seed = 3
tolerance = ["fp16:atol=0.05"]

[[models]]
name = "cnn"
model = "tiny_models.py:build"
input = ["image:Nx3x8x8"]
no-op-check = true

[[models]]
model = "tiny_models.py:strict"
inputs = ["x:Nx8"]
seed = 5
"""


def write(tmp_path, text, name="models.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_entries_become_convert_arguments(tmp_path):
    table = convert_option_table()
    first, second = read_manifest(write(tmp_path, TOML), table)
    assert (first.name, second.name) == ("cnn", "tiny_models-strict")
    assert first.argv(table) == ["--seed", "3", "--tolerance", "fp16:atol=0.05", "--input", "image:Nx3x8x8",
                                 "--no-op-check"]
    assert second.argv(table) == ["--seed", "5", "--tolerance", "fp16:atol=0.05", "--input", "x:Nx8"]


def test_yaml_has_the_same_shape(tmp_path):
    path = write(tmp_path, """
        defaults: {seed: 3}
        models:
          - {name: cnn, model: "tiny_models.py:build", input: ["image:Nx3x8x8"], layout: nhwc}
        """, "models.yaml")
    (entry,) = read_manifest(path, convert_option_table())
    assert entry.argv(convert_option_table()) == ["--seed", "3", "--input", "image:Nx3x8x8", "--layout", "nhwc"]


@pytest.mark.parametrize("text, message", [
    ("models = []", "non-empty 'models' list"),
    ("[[models]]\nname = 'x'", "needs a 'model'"),
    ("[[models]]\nmodel = 'm.py:f'\ninptu = ['x:1']", "unknown option 'inptu'"),
    ("[[models]]\nmodel = 'm.py:f'\noutput = 'elsewhere'", "set by convert-many itself"),
    ("[[models]]\nmodel = 'm.py:f'\nno-op-check = 'yes'", "is a flag"),
    ("[[models]]\nmodel = 'm.py:f'\nseed = [1, 2]", "takes one value"),
    ("[[models]]\nmodel = 'm.py:f'\n[[models]]\nmodel = 'm.py:f'", "two models are named 'm-f'"),
    ("[[models]]\nmodel = 'm.py:f'\nname = 'a/b'", "is not allowed"),
    ("[[models]]\nmodel = 'm.py:f'\n[extra]", "unknown top-level key"),
    ("[[models]\nmodel = ", "is not valid TOML"),
])
def test_bad_manifests_are_refused_with_the_reason(tmp_path, text, message):
    with pytest.raises(UsageError, match=message):
        read_manifest(write(tmp_path, text), convert_option_table())


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_manifest(tmp_path / "nope.toml", convert_option_table())
    with pytest.raises(UsageError, match="use a .toml, .yaml or .yml file"):
        read_manifest(write(tmp_path, "x", "models.json"), convert_option_table())


def test_default_names():
    assert default_name("examples/resnet.py:build") == "resnet-build"
    assert default_name("my_pkg.nets:make") == "my_pkg.nets-make"
    assert default_name("exported/model.onnx") == "model"


def verdict(tmp_path, code, document):
    task = ConvertTask(name="m", model="m.py:f", args=[], base_dir=str(tmp_path), output=str(tmp_path / "m"),
                       log=str(tmp_path / "m.log"))
    return judge(task, code, json.dumps(document), 0.0)


def _entry(target, passed, outputs=()):
    return ParityEntry.from_json({"target": target, "reference": "onnxruntime", "preset": "fp32", "passed": passed,
                                  "outputs": list(outputs)})


def _failed(exc, stage=None):
    exc.stage = stage
    return FailedRun(ErrorRecord.of(exc)).to_json()


def test_verdicts_follow_exit_code_and_error_kind(tmp_path):
    passed = verdict(tmp_path, 0, Report("m", parity=(_entry("saved_model", True),)).to_json())
    assert passed.verdict == "passed" and "saved_model" in passed.reason
    logits = {"name": "logits", "shape": [1, 2], "max_abs": 0.5, "max_rel": 0.5, "mean_abs": 0.1, "cosine": 0.9,
              "atol": 0.01, "rtol": 0.0, "passed": False}
    parity = verdict(tmp_path, 3, Report("m", parity=(_entry("tflite_float16", False, [logits]),)).to_json())
    assert parity.verdict == "failed" and "tflite_float16 output 'logits'" in parity.reason
    limit = verdict(tmp_path, 1, _failed(ConversionError("onnx2tf: GatherND with 5-D indices"), "convert"))
    assert limit.verdict == "limitation" and limit.reason == "convert: onnx2tf: GatherND with 5-D indices"
    crash = verdict(tmp_path, 1, _failed(ModelRunError("forward raised"), "load"))
    assert crash.verdict == "failed"
    usage = verdict(tmp_path, 2, _failed(InputSpecError("bad --input")))
    assert usage.verdict == "failed" and "exit 2" in usage.reason
    killed = verdict(tmp_path, -9, {})
    assert killed.verdict == "failed" and killed.reason == "killed (SIGKILL)"


def test_the_verdict_reads_the_kind_not_the_class_name(tmp_path):
    """A limitation is what the error record says it is: a renamed class changes nothing."""
    record = _failed(ExportError("no ONNX export for aten::foo"), "export")
    assert record["error"]["kind"] == "limitation"
    renamed = {**record, "error": {**record["error"], "type": "SomeNewExportError"}}
    assert verdict(tmp_path, 1, renamed).verdict == "limitation"
    assert verdict(tmp_path, 1, {**record, "error": {**record["error"], "kind": "model"}}).verdict == "failed"


def test_existing_outputs_are_kept_without_force(tmp_path):
    from torch2tf.fanout.run import ManyOptions, plan

    manifest = write(tmp_path, TOML)
    entries = read_manifest(manifest, convert_option_table())
    (tmp_path / "zoo" / "cnn").mkdir(parents=True)
    with pytest.raises(UsageError, match="already holds cnn: pass --force"):
        plan(entries, ManyOptions(manifest=manifest, output=tmp_path / "zoo"), convert_option_table())
    tasks = plan(entries, ManyOptions(manifest=manifest, output=tmp_path / "zoo", force=True), convert_option_table())
    assert [t.output for t in tasks] == [str(tmp_path / "zoo" / n) for n in ("cnn", "tiny_models-strict")]
    assert all(t.force and t.base_dir == str(tmp_path) for t in tasks)
