"""Typed errors. Library code raises these; only cli.py turns them into messages and exit codes."""
from __future__ import annotations


class Torch2TFError(Exception):
    """Base of every error a user can act on. Exit code 1: the model could not be converted."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(Torch2TFError):
    """The command line or its files are wrong (bad syntax, missing file, unusable -o). Exit 2."""

    exit_code = 2


class InputSpecError(UsageError):
    """A --input or --input-data value that cannot describe the model's inputs."""


class OutputDirError(UsageError):
    """The output directory cannot be used (not empty without --force, not writable)."""


class ModelLoadError(Torch2TFError):
    """MODEL could not be turned into an nn.Module or an ONNX file."""


class ModelRunError(Torch2TFError):
    """The model's forward() raised on the given inputs."""


class ExportError(Torch2TFError):
    """torch.onnx.export (every exporter tried) failed, or the ONNX model is invalid."""


class ConversionError(Torch2TFError):
    """onnx2tf, the signature re-export or a TFLite step failed."""


class ParityError(Torch2TFError):
    """Artifacts were produced but do not compute what the reference computes. Exit 3."""

    exit_code = 3


class InternalError(Exception):
    """A bug in torch2tf itself, not something the user did; shown with a traceback."""
