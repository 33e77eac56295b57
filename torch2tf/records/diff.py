"""``report diff``'s rows: what changed between two reports, per output, artifact and runtime."""
from __future__ import annotations

from torch2tf.records.base import record


@record
class OutputChange:
    """One (target, output): its figures then and now (None where it was absent) and what changed."""

    target: str
    output: str
    change: str  # same | new | removed | now failing | now passing | worse: … | better: …
    max_abs: tuple[float | None, float | None]
    mean_abs: tuple[float | None, float | None]
    cosine: tuple[float | None, float | None]

    @property
    def worse(self) -> bool:
        return self.change.startswith(("worse", "now failing", "removed"))

    @property
    def better(self) -> bool:
        return self.change.startswith(("better", "now passing"))


@record
class SizeChange:
    artifact: str
    bytes: tuple[int | None, int | None]
    ratio: float | None


@record
class LatencyChange:
    runtime: str
    batch: int
    median_ms: tuple[float, float]
    ratio: float
