"""The GitHub Action: its files validate and lint; its scripts run in a throwaway model repository as
the runner would, writing the job summary, the step outputs and one pull-request comment."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.action.runner import run_action
from tests.conftest import REPO, TINY_MODELS

BIN = Path(sys.executable).parent
WORKFLOWS = [REPO / ".github" / "workflows" / "parity.yml", REPO / "examples" / "ci" / "model-parity.yml"]


def tool(name: str) -> str:
    return shutil.which(name) or str(BIN / name)


def test_action_and_workflows_match_githubs_schemas():
    for schema, paths in (("vendor.github-actions", [REPO / "action.yml"]), ("vendor.github-workflows", WORKFLOWS)):
        result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_actionlint(tmp_path):
    result = subprocess.run([tool("actionlint"), "-no-color", *map(str, WORKFLOWS)], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    # actionlint really reads the action: a misspelt input of ours and a node20 action are both findings.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # actionlint finds ./ from the repository root
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    shutil.copy(REPO / "action.yml", tmp_path / "action.yml")
    bad.write_text(WORKFLOWS[0].read_text().replace("model:", "modle:").replace("checkout@v5", "checkout@v4"))
    result = subprocess.run([tool("actionlint"), "-no-color", str(bad)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and "modle" in result.stdout and "node20" in result.stdout


def test_install_script_takes_cpu_torch_and_the_shipped_constraints(tmp_path):
    """install.sh run with a recording `python` and `torch2tf` on PATH: what it would install, in order."""
    calls = tmp_path / "calls"
    for name in ("python", "torch2tf"):
        shim = tmp_path / name
        shim.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n')
        shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", GITHUB_ACTION_PATH=str(REPO))
    subprocess.run(["bash", str(REPO / "action" / "install.sh")], env=env, check=True, timeout=60)
    lines = calls.read_text().splitlines()
    assert lines[1] == "python -m pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0"
    assert lines[2] == f"python -m pip install -c {REPO}/torch2tf/data/constraints.txt {REPO}"
    assert (REPO / "constraints.txt").resolve() == REPO / "torch2tf" / "data" / "constraints.txt"


class FakeGitHub(BaseHTTPRequestHandler):
    """GitHub's issue-comment endpoints, in memory, on 127.0.0.1 (the real API is out of reach here)."""

    comments: list[dict] = []
    calls: list[str] = []

    def _reply(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        self.calls.append(f"GET {self.path}")
        self._reply(200, self.comments if "page=1" in self.path else [])

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(f"POST {self.path}")
        self.comments.append({"id": len(self.comments) + 1, "body": body["body"]})
        self._reply(201, self.comments[-1])

    def do_PATCH(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(f"PATCH {self.path}")
        comment = next(c for c in self.comments if self.path.endswith(f"/comments/{c['id']}"))
        comment["body"] = body["body"]
        self._reply(200, comment)

    def log_message(self, *args):
        pass


@pytest.fixture
def github_api():
    FakeGitHub.comments, FakeGitHub.calls = [{"id": 1, "body": "LGTM"}], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def model_repository(tmp_path) -> Path:
    """A user's model repository: a model file and a workflow that uses the action by path."""
    repo = tmp_path / "model-repo"
    (repo / "models").mkdir(parents=True)
    (repo / "models" / "net.py").write_text(TINY_MODELS)
    workflow = yaml.safe_load(WORKFLOWS[1].read_text())
    workflow["jobs"]["parity"]["steps"][1]["uses"] = "./torch2tf-action"
    workflow["jobs"]["parity"]["steps"][1]["with"] = {"model": "models/net.py:build", "inputs": "image:Nx3x8x8",
                                                      "fail-on": "regression"}
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "parity.yml").write_text(yaml.safe_dump(workflow, sort_keys=False))
    (repo / "torch2tf-action").symlink_to(REPO)
    return repo


# What setup-python and the install step leave on PATH: a python and torch2tf (this environment's).
RUNNER_PATH = {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}


def github_context(ref: str, event: str) -> dict:
    return {"ref_name": ref, "event_name": event, "token": "t0ken", "event": {"repository": {"default_branch": "main"}}}


@pytest.mark.slow
def test_model_repository_gets_parity_then_a_diff_and_one_comment(model_repository, tmp_path, github_api):
    workflow = yaml.safe_load((model_repository / ".github" / "workflows" / "parity.yml").read_text())
    step = workflow["jobs"]["parity"]["steps"][1]
    action = model_repository / step["uses"]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    env = {"GITHUB_API_URL": github_api, "GITHUB_REPOSITORY": "me/models", "GITHUB_EVENT_PATH": str(event),
           **RUNNER_PATH}

    # 1. A push to the default branch: parity table in the summary; the report is kept as the baseline.
    main_temp = tmp_path / "main-run"
    main_temp.mkdir()
    run = run_action(action, model_repository, step["with"], github_context("main", "push"), main_temp,
                     extra_env=env)
    outputs = run.steps["parity"]
    assert outputs["passed"] == "true" and outputs["gate"] == "0", outputs["__log"]
    assert Path(outputs["report"]).is_file() and (Path(outputs["output-dir"]) / "junit.xml").is_file()
    assert "| saved_model |" in (main_temp / "step_summary.md").read_text()
    assert FakeGitHub.calls == [] and all(v["__exit"] == "0" for v in run.steps.values())  # a push: no comment

    # 2. A pull request: the default branch's report is restored (GitHub's cache moves it; here: a copy).
    pr_temp = tmp_path / "pr-run"
    shutil.copytree(main_temp / "torch2tf-baseline", pr_temp / "torch2tf-baseline")
    for attempt in (1, 2):  # two pushes to the pull request: one comment, updated
        run = run_action(action, model_repository, step["with"], github_context("feature", "pull_request"), pr_temp,
                         extra_env=env)
        outputs = run.steps["parity"]
        assert outputs["passed"] == "true" and outputs["regressed"] == "false", outputs["__log"]
        summary = (pr_temp / "step_summary.md").read_text()
        assert "what this change did to the converted model" in summary and "✓ no regression" in summary
        assert "| tflite_float32 | output |" in summary
    assert [c for c in FakeGitHub.calls if not c.startswith("GET")] == ["POST /repos/me/models/issues/7/comments",
                                                                         "PATCH /repos/me/models/issues/comments/2"]
    assert len(FakeGitHub.comments) == 2 and "what this change did" in FakeGitHub.comments[1]["body"]
    verdict = [v for k, v in run.steps.items() if k.startswith("step")][-1]
    assert verdict["__exit"] == "0"


@pytest.mark.slow
def test_a_model_that_cannot_convert_fails_the_job_after_the_summary(model_repository, tmp_path):
    step = yaml.safe_load((model_repository / ".github" / "workflows" / "parity.yml").read_text())["jobs"]["parity"][
        "steps"][1]
    given = {**step["with"], "model": "models/net.py:broken"}
    run = run_action(model_repository / step["uses"], model_repository, given, github_context("main", "push"),
                     tmp_path, extra_env=RUNNER_PATH)
    outputs = run.steps["parity"]
    assert outputs["passed"] == "false" and outputs["exit-code"] == "1" and outputs["gate"] == "1"
    assert "could not be converted (exit 1)" in (tmp_path / "step_summary.md").read_text()
    verdict = [v for k, v in run.steps.items() if k.startswith("step")][-1]
    assert verdict["__exit"] == "1"


def test_pre_commit_hook_runs_the_operator_check(tmp_path):
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "torch2tf-check" and hook["pass_filenames"] is False and hook["language"] == "system"
    (tmp_path / "net.py").write_text(TINY_MODELS)
    entry = hook["entry"].split()
    command = [sys.executable, "-m", "torch2tf", *entry[1:]] if entry[0] == "torch2tf" else entry
    result = subprocess.run([*command, "net.py:build", "--input", "image:Nx3x8x8"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 0 and "Conv" in result.stdout, result.stderr
