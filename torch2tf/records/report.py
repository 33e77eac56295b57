"""report.json (schema_version 1; extended, never broken): the record and its verdict."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, computed_field

from torch2tf.errors import UsageError
from torch2tf.records.base import from_json, load_record, record, to_json, when, when_empty, when_none
from torch2tf.records.parity import ParityEntry, Regression, Stamp, Uninformative

SCHEMA_VERSION = 1


@record
class Stage:
    name: str
    status: str  # ok | failed | skipped
    seconds: float
    detail: str = ""


@record
class Operator:
    """An ONNX op type of the export (domain, opset, where) or a TFLite op of one file (target)."""

    op_type: str
    count: int
    status: str
    note: str = ""
    domain: str | None = when_none()
    opset: int | None = when_none()
    where: tuple[str, ...] | None = when_none()
    target: str | None = when_none()


@record
class ExportAttempt:
    exporter: str
    status: str
    reason: str = ""


@record
class Export:
    exporter: str = ""
    opset: int | None = when_none()
    requested_opset: int | None = when_none()
    attempts: tuple[ExportAttempt, ...] = ()
    from_cache: bool | None = when_none()
    source: str | None = when_none()  # the ONNX file given as MODEL


@record
class RewriteNote:
    """What one graph rewrite (or TFLite edit) did to one conversion; reports written before rewrites were
    named hold plain strings there instead."""

    rewrite: str
    purpose: str
    detail: str


@record
class ConversionAttempt:
    exporter: str
    strategy: str
    status: str  # ok | failed | parity-failed
    reason: str
    seconds: float
    rewrites: tuple[RewriteNote | str, ...] = ()
    tflite_fp32_ms: float | None = when_none()  # --tune timed it


@record
class TfliteSummary:
    ops: dict[str, int]
    flex: tuple[str, ...]
    custom: tuple[str, ...]
    transpose_count: int
    builtin_only: bool

    @property
    def needs(self) -> tuple[str, ...]:
        return self.flex + self.custom


@record
class Conversion:
    attempts: tuple[ConversionAttempt, ...] = ()
    strategy: str = ""
    exporter: str = ""
    raw_batch: int | None = None
    layout: str = "nchw"  # the SavedModel signature's image layout
    rewrites: tuple[RewriteNote | str, ...] = ()
    tflite_layout: str | None = None  # the .tflite signatures' image layout
    tflite: dict[str, TfliteSummary] = when_empty(dict)
    dynamic_axes: tuple[str, ...] = when_empty()  # named dims ({seq}) every artifact keeps dynamic
    static_axes: dict[str, int] = when_empty(dict)  # named dims the chosen strategy fixed, at these sizes
    static_axes_reason: str = when("")  # why: the failure of the strategies that kept them dynamic


@record
class Localization:
    found: bool = True
    node: str = ""
    op_type: str = ""
    tensor: str = ""
    max_abs: float | None = None
    module: str = ""
    source: str = ""
    probes: int = 0
    note: str = ""


@record
class BenchRow:
    runtime: str
    batch: int
    median_ms: float
    p90_ms: float
    throughput: float
    size_bytes: int | None
    latency_vs_onnxruntime: float
    size_vs_onnxruntime: float | None


@record
class Benchmark:
    threads: int
    batches: tuple[int, ...]
    rounds: int
    warmup: int
    rows: tuple[BenchRow, ...]
    notes: tuple[str, ...] = ()
    measured: Stamp | None = when_none()


@record
class OpTime:
    op: str
    us: float
    count: int
    share: float
    alone_us: float | None = when_none()


@record
class XnnpackUse:
    taken: int
    timed: int
    fallbacks: dict[str, int]
    partitions: int


@record
class RuntimeProfile:
    ops: tuple[OpTime, ...]
    operators: int
    sum_us: float
    transposes: int
    whole_ms: float | None = None
    xnnpack: XnnpackUse | None = when_none()
    not_timed: dict[str, int] | None = when_none()


@record
class Profile:
    target: str
    threads: int
    rounds: int
    warmup: int
    batch: int
    ratio: float
    tflite: RuntimeProfile
    onnxruntime: RuntimeProfile
    measured: Stamp | None = when_none()


@record
class Report:
    """One conversion's (or validation's) answer: what ran, what it measured, the verdict."""

    model: str
    inputs: tuple[dict[str, Any], ...] = ()  # TensorSpec.to_json() of each input
    outputs: tuple[dict[str, Any], ...] = ()
    stages: tuple[Stage, ...] = ()
    operators: tuple[Operator, ...] = ()
    parity: tuple[ParityEntry, ...] = ()
    export: Export = Field(default_factory=Export)
    conversion: Conversion = Field(default_factory=Conversion)
    localization: Localization | None = None
    regressions: tuple[Regression, ...] = ()
    notes: tuple[str, ...] = ()
    versions: dict[str, str] = Field(default_factory=dict)
    uninformative: tuple[Uninformative, ...] = ()  # outputs whose reference does not vary
    strict: bool = False  # --strict: uninformative parity fails the run
    benchmark: Benchmark | None = when_none()  # measured by bench; validate keeps it, stamped
    profile: Profile | None = when_none()

    @computed_field
    @property
    def passed(self) -> bool:
        """The verdict: no failed stage, some parity checked, every judged artifact within tolerance.

        Every artifact asked for is judged: one that did not run or could not be checked fails the run.
        Quantized variants below their preset gate only when asked (--strict-quant); an output whose
        reference does not vary (parity uninformative) fails only with --strict.
        """
        judged = all(p.passed for p in self.parity if p.judged)
        stages_ok = all(s.status != "failed" for s in self.stages)
        return stages_ok and bool(self.parity) and judged and not self.regressions and not (
            self.strict and self.uninformative)

    def to_json(self) -> dict[str, Any]:
        data = to_json(self)
        return {"schema_version": SCHEMA_VERSION, "passed": data.pop("passed"), **data}

    @classmethod
    def from_json(cls, data: Any) -> Report:
        """ValueError on another schema or a field that does not fit."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r}; this torch2tf reads {SCHEMA_VERSION}")
        return from_json(cls, data)


def read_report(path: Path) -> Report:
    """A report.json of this schema; UsageError when missing, not JSON or not a report."""
    if not path.is_file():
        raise UsageError(f"report not found: {path}")
    return load_record(path, Report, UsageError, "report")
