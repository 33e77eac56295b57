"""``torch2tf validate DIR``: parity of a convert output re-run, localized when an fp32 artifact fails.

Parity itself is validate's; localization has to rebuild the graph onnx2tf was given (same
strategy, onnxsim, rewrites) and convert cut versions of it, which is why the two meet here.
The new results replace DIR's parity in report.json and report.md; what validate does not measure again
(the served rows of smoke, the bench and profile sections) is kept, stamped with when and on what it was measured.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from torch2tf.conversion.strategies import prepare_onnx2tf_input, strategy_from_json
from torch2tf.pipeline.localize import LocalizeRequest, localization_entry, localize_divergence
from torch2tf.records import Report
from torch2tf.validation.directory import DirectoryValidation, ValidateOptions, validate_directory
from torch2tf.validation.parity import fp32_failed, uninformative_line
from torch2tf.validation.report import update_report
from torch2tf.workspace import owned_dir

StageSink = Callable[[str, float, str], None]


def revalidate(options: ValidateOptions, on_stage: StageSink | None = None) -> Report:
    on_stage = on_stage or (lambda *a: None)
    validation = validate_directory(options)
    report = validation.report
    passing = sum(p.passed for p in report.parity)
    on_stage("validate", validation.seconds, f"{passing}/{len(report.parity)} comparisons pass")
    for entry in report.uninformative:
        on_stage("validate", 0.0, uninformative_line(entry, options.strict))
    if options.localize and fp32_failed(report.parity):
        start = time.perf_counter()
        localization, detail = localization_entry(_localize(validation, options))
        report = replace(report, localization=localization)
        on_stage("localize", time.perf_counter() - start, detail)
    update_report(options.directory, report, validation.manifest)
    return report


def _localize(validation: DirectoryValidation, options: ValidateOptions):
    strategy = strategy_from_json(validation.manifest.strategy)
    onnx_path = options.directory / "model.onnx"
    with owned_dir(None, "torch2tf-localize-") as work:
        converted, _ = prepare_onnx2tf_input(onnx_path, work / "onnx", strategy, validation.specs)
        return localize_divergence(LocalizeRequest(
            reference_onnx=onnx_path, converted_onnx=converted, specs=validation.specs,
            feeds=validation.samples[0].feeds, strategy=strategy, work_dir=work / "probes", seed=options.seed))
