"""Data loss and false passes: --force, NaN, sys.exit in user code, concurrent package runs."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.reliability.conftest import assert_nothing_left, assert_one_clear_line

HOSTILE_MODELS = textwrap.dedent('''
    import sys

    import torch
    from torch import nn


    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc(x)


    class AllNan(Mlp):
        def forward(self, x):
            return self.fc(x) * float("nan")


    def mlp():
        torch.manual_seed(0)
        return Mlp()


    def all_nan():
        torch.manual_seed(0)
        return AllNan()


    def exits():
        sys.exit(0)
''')


@pytest.fixture
def project(tmp_path):
    """A user's project: source files and a git directory, with the model file in it."""
    root = tmp_path / "p"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("x = 1\n")
    (root / ".git").mkdir()
    (root / "m.py").write_text(HOSTILE_MODELS)
    return root


@pytest.mark.parametrize("target, message", [
    (".", "it is the current directory or one of its parents"),
    ("..", "it is the current directory or one of its parents"),
    ("src", "replaces only an empty directory or an earlier torch2tf output"),
])
def test_force_never_deletes_what_is_not_ours(sandbox, project, target, message):
    run = sandbox.run("convert", "m.py:mlp", "-i", "x:Nx8", "-o", target, "--force", cwd=project)
    assert_one_clear_line(run, 2, message)
    assert (project / "src" / "a.py").read_text() == "x = 1\n" and (project / ".git").is_dir()
    assert run.leftovers() == []


def test_force_never_takes_the_home_or_model_directory(sandbox, project, tmp_path):
    home = tmp_path / "user-home"
    (home / "notes").mkdir(parents=True)
    run = sandbox.run("convert", f"{project / 'm.py'}:mlp", "-i", "x:Nx8", "-o", str(home), "--force", home=home)
    assert_one_clear_line(run, 2, "it is the home directory")
    assert (home / "notes").is_dir()
    run = sandbox.run("convert", f"{project / 'm.py'}:mlp", "-i", "x:Nx8", "-o", str(project), "--force")
    assert_one_clear_line(run, 2, "it holds the model file")
    assert (project / "m.py").is_file() and (project / "src" / "a.py").is_file()


def test_force_replaces_an_earlier_output_only(sandbox, project, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"schema_version": 1, "artifacts": []}))
    (out / "stale.txt").write_text("from an earlier run")
    run = sandbox.run("convert", str(project / "m.py") + ":mlp", "-i", "x:Nx8", "-o", str(out), "--force", "-q")
    assert run.code == 0, run.stderr[-2000:]
    assert not (out / "stale.txt").exists() and (out / "report.json").is_file()
    assert run.leftovers() == []


@pytest.mark.parametrize("where", ["build", "import"])
def test_sys_exit_in_user_code_is_an_error(sandbox, tmp_path, where):
    source = tmp_path / "exits.py"
    if where == "import":
        source.write_text("import sys\nsys.exit(0)\n")
    else:
        source.write_text(HOSTILE_MODELS)
    out = tmp_path / "out"
    run = sandbox.run("convert", f"{source}:exits", "-i", "x:Nx8", "-o", str(out))
    assert_one_clear_line(run, 1, "called sys.exit(0)")
    assert_nothing_left(run, out)


def test_nan_input_data_is_refused(sandbox, tmp_path):
    (tmp_path / "m.py").write_text(HOSTILE_MODELS)
    np.savez(tmp_path / "nan.npz", x=np.full((4, 8), np.nan, np.float32))
    out = tmp_path / "out"
    run = sandbox.run("convert", f"{tmp_path / 'm.py'}:mlp", "--input-data", str(tmp_path / "nan.npz"), "-o", str(out))
    assert_one_clear_line(run, 2, "has 32 NaN/Inf values")
    assert_nothing_left(run, out)


@pytest.mark.slow
def test_a_model_that_outputs_nan_never_passes(sandbox, tmp_path):
    (tmp_path / "m.py").write_text(HOSTILE_MODELS)
    out = tmp_path / "out"
    run = sandbox.run("convert", f"{tmp_path / 'm.py'}:all_nan", "-i", "x:Nx8", "-o", str(out), "--no-localize",
                      "--strategy", "dynamic-batch", "--json")
    assert run.code == 3, run.stderr[-2000:]
    report = json.loads(run.proc.stdout)
    assert not report["passed"]
    export_check = next(p for p in report["parity"] if p["reference"] == "torch")
    assert any("the PyTorch model itself produces NaN/Inf" in e for e in export_check["errors"])
    assert all(not p["passed"] for p in report["parity"])  # no artifact matches a NaN reference
    assert run.leftovers() == []


@pytest.mark.slow
def test_concurrent_package_runs_never_share_a_version(converted, tmp_path):
    repo = tmp_path / "repo"
    runs = [subprocess.Popen([sys.executable, "-m", "torch2tf", "package", str(converted), "--name", "m",
                              "--repo", str(repo), "--new-version"], stderr=subprocess.PIPE, text=True)
            for _ in range(4)]
    published = []
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        published.append(err.strip().splitlines()[-1])
    assert sorted(published) == sorted(f"published {repo / 'm' / str(v)}" for v in (1, 2, 3, 4))
    assert all((repo / "m" / str(v) / "saved_model.pb").is_file() for v in (1, 2, 3, 4))
    assert "versions 1, 2, 3, 4" in (repo / "README.md").read_text()
    assert not [p.name for p in repo.iterdir() if p.name.startswith(".torch2tf-package-")]


@pytest.mark.slow
def test_an_existing_version_is_replaced_only_with_force(sandbox, converted, tmp_path):
    repo = tmp_path / "repo"
    assert sandbox.run("package", str(converted), "--name", "m", "--repo", str(repo), "--version", "3").code == 0
    again = sandbox.run("package", str(converted), "--name", "m", "--repo", str(repo), "--version", "3")
    assert_one_clear_line(again, 2, "already exists")
    forced = sandbox.run("package", str(converted), "--name", "m", "--repo", str(repo), "--version", "3", "--force")
    assert forced.code == 0 and forced.leftovers() == []
