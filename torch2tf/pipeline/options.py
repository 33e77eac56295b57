"""What a convert run is asked to do, and the stage log that times and reports each stage."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from torch2tf.conversion.quantize import QuantizeOptions
from torch2tf.errors import Torch2TFError
from torch2tf.records import Stage
from torch2tf.specs import Layouts, TensorSpec
from torch2tf.stop import raise_if_stopped

DEFAULT_OPSET = 18
# The conversion ladder's time: no strategy starts after it and an onnx2tf run still going at it is stopped,
# so a model onnx2tf cannot convert fails with a reason well inside 10 minutes (the slowest conversion
# of both corpora that holds parity took 228 s in all, README "Coverage").
DEFAULT_BUDGET_S = 420.0
T = TypeVar("T")


@dataclass
class ConvertOptions:
    model: Any  # a MODEL string, or (the Python API) an nn.Module, a callable returning one, an ExportedProgram
    output: Path
    inputs: list[TensorSpec] = field(default_factory=list)
    input_data: Path | None = None
    input_arrays: dict[str, np.ndarray] | None = None  # example tensors given in memory (the Python API)
    args: dict[str, Any] = field(default_factory=dict)  # --arg: forward() parameters that are not tensors
    label: str = ""  # what the report calls MODEL, when not MODEL itself (an ONNX ModelProto saved for the run)
    force: bool = False
    opset: int = DEFAULT_OPSET
    layouts: Layouts = field(default_factory=Layouts)  # image tensors of the SavedModel and .tflite signatures
    seed: int = 0
    output_names: list[str] | None = None
    work_dir: Path | None = None  # keep intermediate files (every attempt, onnx2tf logs) here
    tolerances: list[str] = field(default_factory=list)  # overrides, e.g. "fp32:atol=1e-5"
    localize: bool = True  # on a parity failure, find the first differing ONNX node
    tflite_builtins_only: bool = False  # Flex or custom TFLite ops are a failure
    op_check: bool = True  # stop before onnx2tf when the support table says an op cannot convert
    quantize: QuantizeOptions | None = None  # extra quantized TFLite variants
    strategy: str | None = None  # try only this strategy of the ladder (e.g. "static-batch")
    tune: bool = False  # every strategy that holds parity, then the one whose TFLite fp32 file runs fastest
    cache_dir: Path | None = None  # reuse exports and conversions stored here (None: no cache)
    strict: bool = False  # an output whose reference does not vary (parity uninformative) fails the run
    budget_s: float = DEFAULT_BUDGET_S  # the conversion ladder's seconds (see DEFAULT_BUDGET_S)


@dataclass
class StageEvent:
    stage: str
    status: str  # start | ok | failed | info
    seconds: float = 0.0
    detail: str = ""

    def line(self) -> str:
        """The progress line the CLI prints (on stderr) and the Python API hands ``on_progress``."""
        if self.status == "start":
            return f"[{self.stage}] ..."
        if self.status == "info":
            return f"[{self.stage}]   {self.detail}"
        mark = "ok" if self.status == "ok" else "FAILED"
        return f"[{self.stage}] {mark} in {self.seconds:.1f}s" + (f" — {self.detail}" if self.detail else "")


EventSink = Callable[[StageEvent], None]


class StageLog:
    """Runs the stages in order: times each, records it (``stages``, for the report) and tells ``on_event``."""

    def __init__(self, on_event: EventSink | None = None) -> None:
        self.stages: list[Stage] = []
        self.on_event = on_event or (lambda event: None)

    def run(self, name: str, fn: Callable[[], T], describe: Callable[[T], str] = str) -> T:
        raise_if_stopped()
        self.on_event(StageEvent(name, "start"))
        start = time.perf_counter()
        try:
            result = fn()
        except Torch2TFError as exc:
            exc.stage = exc.stage or name
            self._add(name, "failed", time.perf_counter() - start, exc.message)
            raise
        raise_if_stopped()  # a SIGTERM that a library swallowed during the stage still stops the run
        self._add(name, "ok", time.perf_counter() - start, describe(result))
        return result

    def record(self, name: str, seconds: float, detail: str) -> None:
        """A stage whose work ran inside an earlier one, with the seconds measured there."""
        self.on_event(StageEvent(name, "start"))
        self._add(name, "ok", seconds, detail)

    def info(self, stage: str, detail: str, seconds: float = 0.0) -> None:
        self.on_event(StageEvent(stage, "info", seconds, detail))

    def informs(self, stage: str) -> Callable[[str, float], None]:
        """``info`` for one stage, for code that reports progress inside it (the ladder)."""
        return lambda detail, seconds=0.0: self.info(stage, detail, seconds)

    def _add(self, name: str, status: str, seconds: float, detail: str) -> None:
        self.stages.append(Stage(name, status, seconds, detail))
        self.on_event(StageEvent(name, status, seconds, detail))
