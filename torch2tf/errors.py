"""Typed errors, the ground floor. Library code raises these; only cli/ turns them into messages and exit codes."""
from __future__ import annotations


class Torch2TFError(Exception):
    """Base of every error a user can act on. Exit code 1: the model could not be converted."""

    exit_code = 1
    kind = "failed"  # what it means to a caller (convert-many's verdict): usage | model | limitation | artifact | endpoint

    def __init__(self, message: str, hint: str | None = None, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or []  # the full story behind a one-line message (e.g. every strategy's reason)
        self.stage: str | None = None  # the pipeline stage it ended, once known

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(Torch2TFError):
    """The command line or its files are wrong (bad syntax, missing file, unusable -o). Exit 2."""

    exit_code = 2
    kind = "usage"


class InputSpecError(UsageError):
    """A --input or --input-data value that cannot describe the model's inputs."""


class OutputDirError(UsageError):
    """The output directory cannot be used (not empty without --force, not writable)."""


class ModelLoadError(Torch2TFError):
    """MODEL could not be turned into an nn.Module or an ONNX file."""

    kind = "model"


class ModelRunError(Torch2TFError):
    """The model's forward() raised on the given inputs."""

    kind = "model"


class ExportError(Torch2TFError):
    """torch.onnx.export (every exporter tried) failed, or the ONNX model is invalid."""

    kind = "limitation"  # a named limit of the toolchain, not a wrong answer


class ConversionError(Torch2TFError):
    """onnx2tf, the signature re-export or a TFLite step failed."""

    kind = "limitation"


class ArtifactLoadError(Torch2TFError):
    """An artifact (ONNX, SavedModel, TFLite file) cannot be loaded by its runtime: it is broken or foreign."""

    kind = "artifact"


class ArtifactRunError(Torch2TFError):
    """A loaded artifact fails to run (e.g. TFLite ops that need the Flex delegate): a parity failure of its own."""

    kind = "artifact"


class EndpointError(Torch2TFError):
    """A serving endpoint could not be reached or refused a request."""

    kind = "endpoint"


class InternalError(Exception):
    """A bug in torch2tf itself, not something the user did; shown with a traceback.

    Deliberately not a Torch2TFError: the CLI does not turn it into a one-line message.
    """


class ServingError(Exception):
    """A request the model server refuses, as TF Serving would: ``http_status`` for REST, ``grpc_code`` for gRPC.

    Not a Torch2TFError: it is answered to the client, never shown as a command's failure.
    """

    def __init__(self, http_status: int, grpc_code: str, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.grpc_code = grpc_code
        self.message = message
