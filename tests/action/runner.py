"""Runs action.yml's script steps the way GitHub's runner does, on this machine.

A composite action's ``run`` steps get their ``env`` with ``${{ }}`` expressions evaluated, run
in bash from the workspace, and write GitHub's files: $GITHUB_OUTPUT (read back as the step's
outputs) and $GITHUB_STEP_SUMMARY. ``uses`` steps (setup-python, cache, upload-artifact) are
GitHub's own actions and are skipped; so is any step named in ``skip`` (the install step: this
environment already has torch2tf). ``if`` conditions are evaluated for the forms action.yml uses.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Context:
    inputs: dict[str, str]
    github: dict
    runner: dict[str, str]
    steps: dict[str, dict[str, str]] = field(default_factory=dict)

    def lookup(self, path: str):
        if path.startswith("'") and path.endswith("'"):
            return path[1:-1]
        head, *rest = path.split(".")
        value = {"inputs": self.inputs, "github": self.github, "runner": self.runner,
                 "steps": {k: {"outputs": v} for k, v in self.steps.items()}}[head]
        for part in rest:
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value

    def evaluate(self, expression: str):
        """``a``, ``a == b``, ``a != b``, ``always()``, and ``&&`` of those."""
        results = []
        for term in expression.split("&&"):
            term = term.strip()
            if term == "always()":
                results.append(True)
            elif " == " in term or " != " in term:
                op = " == " if " == " in term else " != "
                left, right = (self.lookup(side.strip()) for side in term.split(op))
                results.append((left == right) == (op == " == "))
            else:
                return self.lookup(term)
        return all(results)

    def substitute(self, text: str) -> str:
        def one(match: re.Match) -> str:
            value = self.evaluate(match.group(1))
            return str(value).lower() if isinstance(value, bool) else str(value)

        return EXPRESSION.sub(one, str(text))


def action_inputs(action: dict, given: dict[str, str], github: dict) -> dict[str, str]:
    """The ``with:`` values over the action's defaults (a default may itself be an expression)."""
    context = Context(inputs={}, github=github, runner={})
    return {name: str(given.get(name, context.substitute(spec.get("default", ""))))
            for name, spec in action["inputs"].items()}


def run_action(action_path: Path, workspace: Path, given: dict[str, str], github: dict, temp: Path,
               skip: tuple[str, ...] = ("install",), extra_env: dict[str, str] | None = None) -> Context:
    action = yaml.safe_load((action_path / "action.yml").read_text())
    context = Context(inputs=action_inputs(action, given, github), github=github, runner={"temp": str(temp)})
    summary = temp / "step_summary.md"
    for index, step in enumerate(action["runs"]["steps"]):
        if "run" not in step or step.get("id") in skip:
            continue
        condition = step.get("if")
        if condition and not context.evaluate(condition.replace("${{", "").replace("}}", "")):
            continue
        output = temp / f"output_{index}"
        output.write_text("")
        env = {**os.environ, "GITHUB_ACTION_PATH": str(action_path), "GITHUB_OUTPUT": str(output),
               "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(temp),
               "RUNNER_OS": "Linux", **(extra_env or {}), **{k: context.substitute(v) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace, env=env, capture_output=True,
                              text=True, timeout=1800)
        context.steps[step.get("id", f"step{index}")] = dict(
            line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        context.steps[step.get("id", f"step{index}")]["__exit"] = str(proc.returncode)
        context.steps[step.get("id", f"step{index}")]["__log"] = proc.stdout + proc.stderr
    return context
