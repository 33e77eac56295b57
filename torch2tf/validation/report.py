"""The one report writer: report.json (the record, ``torch2tf.records.Report``) and report.md, together.

Every command that changes a report (convert, validate, bench, smoke) writes it through
``write_report``: both files replaced together, atomically, numbers serialized the same way.
"""
from __future__ import annotations

import os
from pathlib import Path

from torch2tf.artifacts import refresh_manifest_entries
from torch2tf.cache import package_versions
from torch2tf.records import Manifest, Report, dumps
from torch2tf.validation.markdown import render_markdown
from torch2tf.workspace import owned_dir

VERSIONED_PACKAGES = ("torch", "onnx", "onnxruntime", "tensorflow", "onnx2tf", "torch2tf")
REPORT_FILES = ("report.json", "report.md")


def tool_versions() -> dict[str, str]:
    """Installed versions, read from package metadata (no heavy import)."""
    return package_versions(VERSIONED_PACKAGES)


def write_report(directory: Path, report: Report) -> None:
    """Replace report.json and report.md in ``directory`` together (staged, then renamed)."""
    with owned_dir(directory, ".report-") as staging:
        (staging / "report.json").write_text(dumps(report.to_json()))
        (staging / "report.md").write_text(render_markdown(report))
        for name in REPORT_FILES:
            os.replace(staging / name, directory / name)


def update_report(directory: Path, report: Report, manifest: Manifest | None = None) -> None:
    """Rewrite the report of a finished output directory; only the report entries of its manifest change."""
    write_report(directory, report)
    refresh_manifest_entries(directory, REPORT_FILES, manifest)
