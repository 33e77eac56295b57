"""convert-many for real: three tiny models (one failing on purpose), local processes and a local Ray instance."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import TINY_MODELS
from tests.reliability.conftest import Sandbox

pytestmark = pytest.mark.slow

MANIFEST = """
[[models]]
name = "cnn"
model = "tiny_models.py:build"
input = ["image:Nx3x8x8"]

[[models]]
model = "tiny_models.py:strict"
input = ["x:Nx8"]

[[models]]
name = "broken"
model = "tiny_models.py:broken"
input = ["x:Nx8"]
"""
EXPECTED = {"cnn": "passed", "tiny_models-strict": "passed", "broken": "failed"}


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "tiny_models.py").write_text(TINY_MODELS)
    (tmp_path / "project" / "models.toml").write_text(MANIFEST)
    return tmp_path


def verdicts(out):
    summary = json.loads((out / "summary.json").read_text())
    return {m["name"]: m["verdict"] for m in summary["models"]}, summary


@pytest.mark.parametrize("engine", [["--jobs", "2"], ["--jobs", "2", "--ray"]], ids=["local", "ray"])
def test_same_verdicts_on_every_engine(workspace, engine):
    sandbox = Sandbox(workspace)
    out = workspace / "zoo"
    run = sandbox.run("convert-many", "models.toml", "-o", str(out), *engine, cwd=workspace / "project")
    assert run.code == 1, run.stderr  # one model fails: not all passed
    found, summary = verdicts(out)
    assert found == EXPECTED and summary["counts"] == {"passed": 2, "limitation": 0, "failed": 1, "not run": 0}
    assert "calling tiny_models.py:broken() raised RuntimeError: weights file missing" in json.dumps(summary)
    for name in ("cnn", "tiny_models-strict"):
        assert (out / name / "saved_model" / "saved_model.pb").is_file() and (out / name / "report.json").is_file()
    assert not (out / "broken").exists() and (out / "logs" / "broken.log").is_file()
    cases = ET.parse(out / "junit.xml").getroot()
    assert cases.get("tests") == "3" and cases.get("failures") == "1"
    assert [c.get("name") for c in cases if c.find("failure") is not None] == ["broken"]
    assert "| `broken` | ✗ failed |" in (out / "summary.md").read_text()
    lines = run.stderr.splitlines()
    assert any(line.startswith("[3/3] ") for line in lines) and any("ETA" in line for line in lines)
    assert "Traceback" not in run.stderr and run.leftovers() == []  # Ray's session files and token included


def test_sigterm_stops_every_conversion_and_writes_the_summary(workspace):
    sandbox = Sandbox(workspace)
    env, tmp, home = sandbox.env()
    out = workspace / "zoo"
    proc = subprocess.Popen([sys.executable, "-m", "torch2tf", "convert-many", "models.toml", "-o", str(out),
                             "--jobs", "2"], cwd=workspace / "project", env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("logs/*.log"))) < 2:
        time.sleep(0.2)
    time.sleep(3)  # both conversions are under way
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "terminated (SIGTERM)" in stderr and "Traceback" not in stderr
    found, summary = verdicts(out)
    assert set(found) == set(EXPECTED) and summary["counts"]["passed"] == 0
    leftovers = [p for p in out.iterdir() if p.name.startswith(".")] + list(tmp.rglob("*")) + list(home.rglob("*"))
    assert leftovers == []  # no staging dir beside the outputs, no work dir in TMPDIR
    assert not [p for p in out.iterdir() if p.is_dir() and p.name not in ("logs",)]
    assert not [line for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
                .splitlines() if str(out) in line]  # no conversion outlived the run


def test_a_model_past_its_timeout_is_stopped_and_failed(workspace):
    (workspace / "project" / "slow.py").write_text(TINY_MODELS + "\n\ndef slow():\n    import time\n"
                                                  "    time.sleep(120)\n    return build()\n")
    (workspace / "project" / "slow.toml").write_text('[[models]]\nname = "slow"\nmodel = "slow.py:slow"\n'
                                                    'input = ["image:Nx3x8x8"]\n')
    sandbox = Sandbox(workspace)
    out = workspace / "zoo"
    started = time.monotonic()
    run = sandbox.run("convert-many", "slow.toml", "-o", str(out), "--timeout", "5", cwd=workspace / "project")
    assert run.code == 1 and time.monotonic() - started < 60, run.stderr
    found, summary = verdicts(out)
    assert found == {"slow": "failed"} and summary["models"][0]["reason"].startswith("timed out after 5 s")
    assert not (out / "slow").exists() and run.leftovers() == [] and "Traceback" not in run.stderr
