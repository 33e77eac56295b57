"""The package's shape as DESIGN.md states it: import-linter contracts, module and function sizes, imports."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "torch2tf"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                "sys.exit(lint_imports_command())", "--no-logo", "--no-cache"]


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_contracts_hold():
    proc = subprocess.run(LINT_IMPORTS, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout and proc.stdout.count("KEPT") >= 5


@pytest.mark.parametrize("module, line", [
    ("conversion/strategies.py", "from torch2tf.validation.compare import PRESETS"),  # conversion → validation
    ("validation/parity.py", "from torch2tf.pipeline import stages"),  # a lower layer → a higher one
    ("specs.py", "from torch2tf.inputs import load_npz"),  # a core cycle
])
def test_import_contracts_catch_a_violation(tmp_path, module, line):
    """The contracts are not vacuous: one wrong import, even inside a function, breaks them."""
    shutil.copytree(PACKAGE, tmp_path / "torch2tf", ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    with open(tmp_path / "torch2tf" / module, "a") as fh:
        fh.write(f"\n\ndef _violation():\n    {line}\n")
    proc = subprocess.run(LINT_IMPORTS, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "BROKEN" in proc.stdout


def test_modules_and_functions_stay_small():
    too_long = []
    for path in _modules():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}(): {length} lines")
    assert not too_long, "\n".join(too_long)


def test_no_function_level_imports_of_our_own_modules():
    """Imports inside functions are for heavy third-party frameworks only, never to dodge a cycle."""
    found = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch2tf"):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} from {node.module}")
                elif isinstance(node, ast.Import) and any(a.name.startswith("torch2tf") for a in node.names):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} import")
    assert not found, "\n".join(found)


def test_developer_tooling_is_not_in_the_package():
    names = {p.stem for p in _modules()}
    assert not names & {"op_cases", "measure", "generate"}
    assert "measure_ops" not in "".join(p.read_text() for p in _modules())
