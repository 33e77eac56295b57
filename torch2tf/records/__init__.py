"""Typed records under the code: every JSON torch2tf reads or writes is one of these (the core)."""
from torch2tf.records.base import dumps, load_record, read_json, write_json
from torch2tf.records.manifest import (
    MANIFEST_SCHEMA_VERSION,
    ArtifactEntry,
    Manifest,
    TfliteFiles,
    TfliteVariant,
    tflite_variants,
)
from torch2tf.records.parity import (
    Latency,
    OutputComparison,
    ParityEntry,
    PrecisionLoss,
    Regression,
    Stamp,
    Uninformative,
)
from torch2tf.records.report import (
    SCHEMA_VERSION,
    Benchmark,
    BenchRow,
    Conversion,
    ConversionAttempt,
    Export,
    ExportAttempt,
    Localization,
    Operator,
    OpTime,
    Profile,
    Report,
    RewriteNote,
    RuntimeProfile,
    Stage,
    TfliteSummary,
    XnnpackUse,
    read_report,
)
from torch2tf.records.verdict import Counts, ErrorRecord, FailedRun, ModelResult, Summary, parse_answer

__all__ = [
    "MANIFEST_SCHEMA_VERSION", "SCHEMA_VERSION", "ArtifactEntry", "BenchRow", "Benchmark", "Conversion",
    "ConversionAttempt", "Export", "ExportAttempt", "Latency", "Localization", "Manifest", "OpTime", "Operator",
    "OutputComparison", "ParityEntry", "PrecisionLoss", "Profile", "Regression", "Report", "RewriteNote",
    "RuntimeProfile", "Stage", "Stamp", "TfliteFiles", "TfliteSummary", "TfliteVariant", "Uninformative",
    "XnnpackUse", "dumps", "load_record", "read_json", "read_report", "tflite_variants", "write_json",
    "Counts", "ErrorRecord", "FailedRun", "ModelResult", "Summary", "parse_answer",
]
