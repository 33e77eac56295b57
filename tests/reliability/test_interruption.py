"""Interruption: SIGTERM unwinds like Ctrl-C; what SIGKILL leaves, the next run sweeps; no late surprises."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import TINY_MODELS
from tests.reliability.conftest import assert_nothing_left, assert_one_clear_line

pytestmark = pytest.mark.slow


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "tiny_models.py"
    path.write_text(TINY_MODELS)
    return path


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 300) -> str:
    """Read stderr until ``marker`` appears (the run reached that stage)."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} never appeared: {''.join(seen)[-2000:]}")


def test_sigterm_during_conversion_leaves_nothing(sandbox, models, tmp_path):
    out = tmp_path / "out"
    proc, tmp, home = sandbox.start("convert", f"{models}:build", "-i", "image:Nx3x8x8", "-o", str(out))
    _wait_for(proc, "[convert] ...")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert not out.exists() and not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert sorted(p.name for p in tmp.iterdir()) == [] and sorted(p.name for p in home.iterdir()) == []


SWALLOWS = TINY_MODELS + '''

def swallowing():
    """A build() that swallows KeyboardInterrupt, as some libraries do around optional imports."""
    import sys
    import time

    print("building", file=sys.stderr, flush=True)
    try:
        time.sleep(60)
    except BaseException:
        pass
    return TinyCNN()


def converting():
    """A build() whose library turns the interrupt into an error of its own, as onnxruntime's import does."""
    import sys
    import time

    print("building", file=sys.stderr, flush=True)
    try:
        time.sleep(60)
    except BaseException as exc:
        raise ImportError("initialization failed") from exc
    return TinyCNN()
'''


@pytest.mark.parametrize("build", ["swallowing", "converting"])
def test_a_sigterm_that_user_code_swallows_still_stops_the_run(sandbox, tmp_path, build):
    models = tmp_path / "swallowing.py"
    models.write_text(SWALLOWS)
    out = tmp_path / "out"
    proc, tmp, home = sandbox.start("convert", f"{models}:{build}", "-i", "image:Nx3x8x8", "-o", str(out))
    _wait_for(proc, "building")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err  # stopped at the next stage boundary, not converted to the end
    assert "terminated (SIGTERM)" in err and "[export] ..." not in err and "Traceback" not in err
    assert "error:" not in err
    assert not out.exists() and not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert sorted(p.name for p in tmp.iterdir()) == [] and sorted(p.name for p in home.iterdir()) == []


def test_what_sigkill_leaves_the_next_run_sweeps(sandbox, models, tmp_path):
    out = tmp_path / "out"
    env, tmp, _ = sandbox.env()
    proc = subprocess.Popen([sys.executable, "-m", "torch2tf", "convert", f"{models}:build", "-i", "image:Nx3x8x8",
                             "-o", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(proc, "[convert] ...")
    proc.kill()
    proc.communicate(timeout=60)
    staged = [p for p in tmp_path.iterdir() if p.name.startswith(".out.torch2tf-") and p.is_dir()]
    work = [p for p in tmp.iterdir() if p.name.startswith("torch2tf-work-") and p.is_dir()]
    assert staged and work  # SIGKILL cannot clean up
    again = subprocess.run([sys.executable, "-m", "torch2tf", "convert", f"{models}:build", "-i", "image:Nx3x8x8",
                            "-o", str(out), "-q"], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not any(p.exists() for p in staged + work)
    assert [p.name for p in tmp.iterdir()] == [] and not list(tmp_path.glob(".out.torch2tf-*"))


def test_killed_package_staging_is_swept(sandbox, converted, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    owner = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                              "from torch2tf.workspace import OwnedDir; "
                              f"d = OwnedDir(Path({str(repo)!r}), '.torch2tf-package-'); "
                              "(d.path / 'half-copied').write_bytes(b'x' * 1000); print(d.path, flush=True); "
                              "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    staged = owner.stdout.readline().strip()
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait(timeout=30)
    assert os.path.isdir(staged)
    run = sandbox.run("package", str(converted), "--name", "m", "--repo", str(repo))
    assert run.code == 0, run.stderr
    assert not os.path.exists(staged) and not list(repo.glob(".torch2tf-package-*"))


def test_a_live_runs_staging_is_not_swept(tmp_path):
    from torch2tf.workspace import sweep_stale

    owner = subprocess.Popen([sys.executable, "-c", "import time; from pathlib import Path; "
                              "from torch2tf.workspace import OwnedDir; "
                              f"d = OwnedDir(Path({str(tmp_path)!r}), '.x-'); print(d.path, flush=True); "
                              "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    try:
        live = owner.stdout.readline().strip()
        assert sweep_stale(tmp_path, ".x-") == [] and os.path.isdir(live)
    finally:
        owner.kill()
        owner.wait(timeout=30)
    assert [str(p) for p in sweep_stale(tmp_path, ".x-")] == [live]


def test_unusable_work_dir_is_one_line_and_leaks_nothing(sandbox, models, tmp_path):
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "out"
    run = sandbox.run("convert", f"{models}:build", "-i", "image:Nx3x8x8", "-o", str(out),
                      "--work-dir", str(tmp_path / "a-file" / "work"))
    assert_one_clear_line(run, 2, "cannot create --work-dir")
    assert_nothing_left(run, out)


@pytest.mark.parametrize("option", ["--junit", "--markdown"])
def test_unwritable_report_paths_are_refused_before_converting(sandbox, models, tmp_path, option):
    out = tmp_path / "out"
    start = time.monotonic()
    run = sandbox.run("convert", f"{models}:build", "-i", "image:Nx3x8x8", "-o", str(out),
                      option, str(tmp_path / "missing" / "report.xml"))
    assert_one_clear_line(run, 2, "does not exist")
    assert time.monotonic() - start < 30  # refused up front, not after a conversion
    assert_nothing_left(run, out)


def test_validate_junit_into_a_missing_directory(sandbox, converted, tmp_path):
    run = sandbox.run("validate", str(converted), "--junit", str(tmp_path / "missing" / "p.xml"))
    assert_one_clear_line(run, 2, "does not exist")
