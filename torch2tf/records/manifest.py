"""manifest.json: what an output directory holds (every file with its digest) and how to run it."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from torch2tf.records.base import record, to_json, when_none
from torch2tf.records.report import Stage
from torch2tf.specs import SignaturePlan, TensorBinding, TensorSpec

MANIFEST_SCHEMA_VERSION = 1
FLOAT_VARIANTS = {"tflite_float32": "tflite/model_float32.tflite", "tflite_float16": "tflite/model_float16.tflite"}


@record
class ArtifactEntry:
    path: str
    sha256: str
    size: int


@record
class TfliteVariant:
    """Where one .tflite file lives, which preset checks it, and whether it gates the run."""

    path: str
    preset: str
    gating: bool = True
    outputs: tuple[TensorBinding, ...] | None = when_none()  # its own output bindings (quantized files)


def tflite_variants(quantized_targets: list[str] = (), strict_quant: bool = False) -> dict[str, TfliteVariant]:
    """The float pair always gates (fp16 against its own reference); quantized variants only with --strict-quant."""
    variants = {target: TfliteVariant(path, "fp32" if target == "tflite_float32" else "fp16")
                for target, path in FLOAT_VARIANTS.items()}
    for target in quantized_targets:
        variants[target] = TfliteVariant(f"tflite/model_{target.removeprefix('tflite_')}.tflite", "int8",
                                         strict_quant)
    return variants


@record
class TfliteFiles:
    """The signed .tflite files' ends (shared by the float pair) and every variant written."""

    inputs: tuple[TensorBinding, ...]
    outputs: tuple[TensorBinding, ...]
    layout: str = "nhwc"
    variants: dict[str, TfliteVariant] = Field(default_factory=dict)

    def all_variants(self) -> dict[str, TfliteVariant]:
        """The variants listed (older manifests list none: the float pair)."""
        return self.variants or tflite_variants()

    def bindings(self, target: str) -> tuple[list[TensorBinding], list[TensorBinding]]:
        """How the PyTorch tensors map onto the tensors of one variant (inputs, outputs)."""
        outputs = self.all_variants()[target].outputs or self.outputs
        return list(self.inputs), list(outputs)


@record
class Manifest:
    artifacts: tuple[ArtifactEntry, ...] = ()
    versions: dict[str, str] = Field(default_factory=dict)
    model: str = ""
    stages: tuple[Stage, ...] = ()
    inputs: tuple[dict[str, Any], ...] = ()  # TensorSpec.to_json() of each input
    outputs: tuple[dict[str, Any], ...] = ()
    seed: int = 0
    vocab_sizes: dict[str, int] | None = when_none()  # token-id bounds (written since they are recorded)
    signature: dict[str, Any] | None = when_none()  # SignaturePlan.to_json()
    tflite: TfliteFiles | None = when_none()
    strategy: dict[str, Any] | None = when_none()  # the conversion strategy (convert's strategy_from_json)

    def to_json(self) -> dict[str, Any]:
        """With schema_version first: what recognises a torch2tf output (``artifacts.is_torch2tf_output``)."""
        return {"schema_version": MANIFEST_SCHEMA_VERSION, **to_json(self)}

    @property
    def complete(self) -> bool:
        """Does it record the I/O bindings a re-validation, a package or a benchmark needs?"""
        return self.signature is not None and self.tflite is not None

    def specs(self) -> list[TensorSpec]:
        return [TensorSpec.from_json(i) for i in self.inputs]

    def output_specs(self) -> list[TensorSpec]:
        return [TensorSpec.from_json(o) for o in self.outputs]

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.specs()]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.output_specs()]

    def plan(self) -> SignaturePlan:
        return SignaturePlan.from_json(self.signature)

    def input_keys(self) -> dict[str, str]:
        """PyTorch/ONNX input name → the key the SavedModel's signature (and so TF Serving) takes it under."""
        if self.signature is None:
            return {name: name for name in self.input_names}
        return self.plan().input_keys()

    def sizes(self) -> dict[str, int]:
        """Artifact path → bytes, the report files left out."""
        return {a.path: a.size for a in self.artifacts if not a.path.startswith("report.")}
