"""Parity records: one output compared, one artifact's entry (report.json "parity"), what gates them."""
from __future__ import annotations

from pydantic import computed_field

from torch2tf.records.base import record, when, when_empty, when_none


@record
class OutputComparison:
    """One output of one artifact against its reference: the worst figures over the samples."""

    name: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    mean_abs: float
    cosine: float
    atol: float | None
    rtol: float | None
    passed: bool
    note: str = ""
    top1: float | None = None  # top-1 agreement over rows, for classifier-like (batch, classes) outputs
    scale: float = 0.0  # max |reference|: what rtol and the relative error are taken against
    limit: float | None = None  # the max abs error allowed here (atol + rtol * scale); None: not bounded

    @computed_field
    @property
    def rel_error(self) -> float:
        """max abs error over the reference's magnitude: the figure the presets are calibrated on."""
        return self.max_abs / self.scale if self.scale > 0 else (0.0 if self.max_abs == 0 else float("inf"))


@record
class PrecisionLoss:
    """The fp16 file against onnxruntime fp32: what half-precision weights cost, apart from conversion."""

    reference: str
    preset: str
    gating: bool
    passed: bool
    outputs: tuple[OutputComparison, ...] = ()

    @property
    def failing(self) -> bool:
        return self.gating and not self.passed


@record
class Stamp:
    """When a measurement was taken and a digest of the artifacts it was taken on (per path prefix)."""

    at: str
    artifacts: dict[str, str]


@record
class Latency:
    requests: int
    p50: float
    p95: float
    mean: float


@record
class ParityEntry:
    """One artifact (a target) against one reference, over the validation samples."""

    target: str
    reference: str
    preset: str
    passed: bool
    samples: tuple[str, ...] = ()
    outputs: tuple[OutputComparison, ...] = ()
    errors: tuple[str, ...] = when_empty()  # samples it could not run, or why it could not run at all
    gating: bool = when(True)  # False: a quantized variant below its preset fails only with --strict-quant
    precision_loss: PrecisionLoss | None = when_none()
    carried_over: bool = when(False)  # kept from an earlier report by validate, not measured again
    stale: bool | None = when_none()  # carried over, and its artifacts changed since
    endpoint: str | None = when_none()  # served rows: the URL smoke asked
    measured: Stamp | None = when_none()
    latency_ms: Latency | None = when_none()

    @property
    def did_not_run(self) -> bool:
        return bool(self.errors) and not self.outputs

    @property
    def judged(self) -> bool:
        """Does this entry take part in the verdict? Below-preset quantized files only under --strict-quant;
        an artifact that was asked for and could not be checked always does."""
        return self.gating or not self.outputs

    @property
    def served(self) -> bool:
        return self.latency_ms is not None

    def failing_outputs(self) -> list[str]:
        """Output names that fail, the precision loss's (when it gates) marked as such."""
        names = [o.name for o in self.outputs if not o.passed]
        if self.precision_loss and self.precision_loss.gating:
            names += [f"{o.name} (precision loss)" for o in self.precision_loss.outputs if not o.passed]
        return names


@record
class Uninformative:
    """An output whose reference does not vary across the samples: parity proves nothing there."""

    output: str
    spread: float
    limit: float
    samples: int
    note: str


@record
class Regression:
    """A figure that grew past ``factor`` times its baseline."""

    target: str
    output: str
    figure: str
    baseline: float
    value: float
    factor: float
