"""Warnings raised while converting (model code, torch, the exporters) stay off the progress lines and are
kept in the report's notes, each distinct one once."""
from __future__ import annotations

import json
import warnings

import pytest

from tests.conftest import run_cli
from torch2tf.pipeline.library_warnings import MAX_NOTES, kept_warnings, warning_notes


def test_distinct_warnings_become_notes_named_by_their_package():
    with kept_warnings() as caught:
        for _ in range(3):
            warnings.warn_explicit("nested tensors are off", UserWarning,
                                   "/v/lib/python3.11/site-packages/torch/nn/modules/transformer.py", 10)
        warnings.warn("a second one", DeprecationWarning)
    notes = warning_notes(caught)
    assert notes == ["warning from torch (UserWarning): nested tensors are off",
                     "warning from test_library_warnings.py (DeprecationWarning): a second one"]
    with kept_warnings() as caught:
        for i in range(MAX_NOTES + 3):
            warnings.warn(f"warning {i}")
    assert warning_notes(caught)[-1] == "3 more warnings from libraries"


@pytest.mark.slow
def test_a_warning_in_forward_is_in_the_report_not_on_the_console(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("convert", "tests/pipeline/warning_models.py:build", "-i", "x:Nx4", "-o", str(out), "--no-cache")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fast path is off" not in proc.stderr
    notes = json.loads((out / "report.json").read_text())["notes"]
    assert "warning from warning_models.py (UserWarning): this layer's fast path is off: batch_first was not True" \
        in notes
