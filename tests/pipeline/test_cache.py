"""The conversion cache: a second run of an unchanged model reuses the export, onnxsim and onnx2tf,
says so, and checks parity again; a changed model, --no-cache or a damaged entry never reuse (slow)."""
from __future__ import annotations

import json
import os

import pytest

from tests.conftest import TINY_MODELS, run_cli
from torch2tf.cache import MAX_GB_ENV, Cache, evict

pytestmark = pytest.mark.slow
CACHED = {"export", "onnxsim", "onnx2tf", "serving"}


def _convert(model_file, out, cache, *extra):
    return run_cli("convert", f"{model_file}:build", "-i", "image:Nx3x8x8", "-o", str(out), "--cache-dir", str(cache),
                   *extra, env={"TORCH2TF_NO_CACHE": ""})


def _cache_note(out) -> str:
    report = json.loads((out / "report.json").read_text())
    return next((n for n in report["notes"] if n.startswith("from the cache")), "")


def test_second_run_reuses_everything_and_checks_parity_again(tiny_models, tmp_path):
    cache = tmp_path / "cache"
    first = _convert(tiny_models, tmp_path / "a", cache)
    assert first.returncode == 0, first.stderr[-2000:]
    assert _cache_note(tmp_path / "a") == "" and {p.name for p in cache.iterdir()} == CACHED
    second = _convert(tiny_models, tmp_path / "b", cache)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "[export] ok in" in second.stderr and "(from the cache)" in second.stderr
    note = _cache_note(tmp_path / "b")
    assert all(kind in note for kind in CACHED) and "parity checked again" in note
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["passed"] and {"onnxruntime", "saved_model", "tflite_float32"} <= {p["target"] for p in report["parity"]}
    same = [(tmp_path / d / "tflite" / "model_float32.tflite").read_bytes() for d in ("a", "b")]
    assert same[0] == same[1]


def test_check_takes_the_export_and_its_preparation_from_the_cache(tiny_models, tmp_path):
    """`check` after `convert` (or a second `check`) exports nothing again: it says so."""
    cache = tmp_path / "cache"
    assert _convert(tiny_models, tmp_path / "a", cache).returncode == 0
    check = run_cli("check", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "--cache-dir", str(cache),
                    env={"TORCH2TF_NO_CACHE": ""})
    assert check.returncode == 0, check.stderr[-2000:]
    assert "[export] ok" in check.stderr and "dynamo (from the cache)" in check.stderr


def test_changed_weights_or_no_cache_do_not_reuse(tmp_path):
    cache = tmp_path / "cache"
    model = tmp_path / "model.py"
    model.write_text(TINY_MODELS)
    assert _convert(model, tmp_path / "a", cache).returncode == 0
    model.write_text(TINY_MODELS.replace("torch.manual_seed(0)", "torch.manual_seed(1)"))
    changed = _convert(model, tmp_path / "b", cache)
    assert changed.returncode == 0 and "(from the cache)" not in changed.stderr
    assert "export" not in _cache_note(tmp_path / "b")
    off = tmp_path / "off"
    assert _convert(model, tmp_path / "c", off, "--no-cache").returncode == 0
    assert not off.exists() and _cache_note(tmp_path / "c") == ""
    by_env = run_cli("convert", f"{model}:build", "-i", "image:Nx3x8x8", "-o", str(tmp_path / "d"), "--cache-dir",
                     str(off), env={"TORCH2TF_NO_CACHE": "1"})
    assert by_env.returncode == 0 and not off.exists()


def test_damaged_entry_is_discarded_and_redone(tiny_models, tmp_path):
    """A truncated .tflite in the onnx2tf entry no longer matches its stored digest: the entry is removed,
    onnx2tf runs again on the first strategy, and the report says so (never a pass on the damaged file)."""
    cache = tmp_path / "cache"
    assert _convert(tiny_models, tmp_path / "a", cache).returncode == 0
    for tflite in (cache / "onnx2tf").rglob("*_float32.tflite"):
        tflite.write_bytes(tflite.read_bytes()[: len(tflite.read_bytes()) // 2])  # truncated on disk
    again = _convert(tiny_models, tmp_path / "b", cache)
    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["passed"] and report["conversion"]["attempts"][0]["status"] == "ok"
    assert "damaged cache entries discarded and their work done again: onnx2tf" in report["notes"]
    assert "onnx2tf" not in _cache_note(tmp_path / "b") and "export" in _cache_note(tmp_path / "b")
    third = _convert(tiny_models, tmp_path / "c", cache)  # the redone work was stored again, whole
    assert third.returncode == 0 and "onnx2tf" in _cache_note(tmp_path / "c")


def test_a_damaged_serving_saved_model_is_discarded_and_redone(tiny_models, tmp_path):
    cache = tmp_path / "cache"
    assert _convert(tiny_models, tmp_path / "a", cache).returncode == 0
    for graph in (cache / "serving").rglob("saved_model.pb"):
        graph.write_bytes(b"not a graph")
    again = _convert(tiny_models, tmp_path / "b", cache)
    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["passed"] and report["conversion"]["attempts"][0]["status"] == "ok"
    assert "damaged cache entries discarded and their work done again: serving" in report["notes"]


def test_a_fetch_checks_every_file_against_its_stored_digest(tmp_path):
    cache = Cache(tmp_path / "cache")
    source = tmp_path / "files"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.bin").write_bytes(b"abc" * 100)
    (source / "b.txt").write_text("b")
    key = Cache.key("kind", {"a": 1}, ())
    cache.store("kind", key, [source / "sub", source / "b.txt"], {"m": 1})
    assert cache.fetch("kind", key, tmp_path / "ok") == {"m": 1}
    assert (tmp_path / "ok" / "sub" / "a.bin").read_bytes() == b"abc" * 100
    stored = tmp_path / "cache" / "kind" / key / "files" / "sub" / "a.bin"
    stored.write_bytes(b"abc" * 50)  # truncated
    assert cache.fetch("kind", key, tmp_path / "bad") is None
    assert not (tmp_path / "cache" / "kind" / key).exists()  # discarded
    assert not (tmp_path / "bad" / "sub" / "a.bin").exists() and not (tmp_path / "bad" / "b.txt").exists()
    assert cache.used == ["kind"] and cache.discarded == ["kind"]
    assert not [p for p in (tmp_path / "cache" / "kind").iterdir()]  # nothing left behind
    cache.store("kind", key, [source / "sub"], {"m": 2})  # stored again, whole
    meta = tmp_path / "cache" / "kind" / key / "entry.json"
    meta.write_text(json.dumps({"m": 2, "bytes": 300}))  # an entry without digests (an older torch2tf's)
    assert cache.fetch("kind", key, tmp_path / "old") is None and not meta.exists()


def test_unreadable_entries_miss(tmp_path):
    cache = Cache(tmp_path)
    source = tmp_path / "file.txt"
    source.write_text("x")
    key = Cache.key("kind", {"a": 1}, ())
    cache.store("kind", key, [source], {"m": 1})
    assert cache.fetch("kind", key, tmp_path / "out") == {"m": 1} and (tmp_path / "out" / "file.txt").read_text() == "x"
    (tmp_path / "kind" / key / "entry.json").write_text("{broken")
    assert cache.fetch("kind", key, tmp_path / "out2") is None
    assert Cache(None).fetch("kind", key, tmp_path / "out3") is None and cache.used == ["kind"]


def test_the_cache_keeps_under_its_size_by_evicting_what_was_used_longest_ago(tmp_path, monkeypatch):
    cache = Cache(tmp_path / "cache")
    keys = {}
    for name in ("a", "b", "c"):
        source = tmp_path / name
        source.write_bytes(b"x" * 400)
        keys[name] = Cache.key("kind", {"name": name}, ())
        cache.store("kind", keys[name], [source])
    for age, name in ((300, "a"), (200, "b"), (100, "c")):  # a stored first, c last
        meta = tmp_path / "cache" / "kind" / keys[name] / "entry.json"
        os.utime(meta, (meta.stat().st_mtime - age,) * 2)
    assert cache.fetch("kind", keys["a"], tmp_path / "out-a") == {}  # a used now: b is the oldest use
    monkeypatch.setenv(MAX_GB_ENV, str(1000 / 1e9))  # room for two entries of 400 bytes
    (tmp_path / "d").write_bytes(b"x" * 400)
    keys["d"] = Cache.key("kind", {"name": "d"}, ())
    cache.store("kind", keys["d"], [tmp_path / "d"])
    left = {name for name, key in keys.items() if (tmp_path / "cache" / "kind" / key).exists()}
    assert left == {"a", "d"}  # b and c went, oldest use first; the entry just stored stays
    assert not [p for p in (tmp_path / "cache" / "kind").iterdir() if p.name.startswith(".")]
    assert evict(tmp_path / "cache", 0, keep=tmp_path / "cache" / "kind" / keys["d"]) == \
        [tmp_path / "cache" / "kind" / keys["a"]]


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache should be")
    source = tmp_path / "file.txt"
    source.write_text("x")
    cache = Cache(blocked)
    key = Cache.key("kind", {"a": 1}, ())
    cache.store("kind", key, [source])  # nothing stored, nothing raised
    assert cache.fetch("kind", key, tmp_path / "out") is None and blocked.read_text().startswith("a file")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_quantized_variant_reused_with_the_same_calibration(tiny_models, tmp_path):
    cache = tmp_path / "cache"
    quantize = ("--quantize", "int8", "--calibration", "random")
    assert _convert(tiny_models, tmp_path / "a", cache, *quantize).returncode == 0
    assert len(list((cache / "onnx2tf").iterdir())) == 2  # the float conversion and the int8 one
    second = _convert(tiny_models, tmp_path / "b", cache, *quantize)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "onnx2tf ×2" in _cache_note(tmp_path / "b")  # both taken from the cache
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert next(p for p in report["parity"] if p["target"] == "tflite_integer_quant")["passed"]  # checked again
    same = [(tmp_path / d / "tflite" / "model_integer_quant.tflite").read_bytes() for d in ("a", "b")]
    assert same[0] == same[1]


def test_a_size_limit_that_is_not_a_number_is_refused_by_the_cli(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from torch2tf.cache import DEFAULT_MAX_GB, max_bytes, max_gigabytes
    from torch2tf.cli import main

    monkeypatch.delenv("TORCH2TF_NO_CACHE", raising=False)  # conftest turns the cache off
    assert max_gigabytes("0.5") == 0.5 and max_gigabytes("") == max_gigabytes(None) == DEFAULT_MAX_GB
    for bad in ("5G", "-1", "nan", "inf"):
        with pytest.raises(ValueError):
            max_gigabytes(bad)
        monkeypatch.setenv(MAX_GB_ENV, bad)
        assert max_bytes() == DEFAULT_MAX_GB * 1e9  # library callers keep the default
        result = CliRunner().invoke(main, ["convert", str(tmp_path / "model.py"), "-i", "x:1x3",
                                           "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c")])
        assert result.exit_code == 2 and f"{MAX_GB_ENV}='{bad}'" in result.output, result.output
        assert not (tmp_path / "out").exists() and not (tmp_path / "c").exists()
        result = CliRunner().invoke(main, ["convert", str(tmp_path / "model.py"), "-i", "x:1x3",
                                           "-o", str(tmp_path / "out"), "--no-cache"])
        assert MAX_GB_ENV not in result.output  # no cache: the limit does not matter
