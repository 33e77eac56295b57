"""A TF Serving model repository: REPO/NAME/VERSION/{saved_model.pb, variables/, assets.extra/}.

A version is staged inside REPO (same filesystem) and renamed into place, because TF Serving
polls the base path and would load a half-copied version. models.config, the Dockerfile,
docker-compose.yml and a README are regenerated from what REPO holds after every publish.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from torch2tf.artifacts import manifest_specs, manifest_vocab, read_manifest
from torch2tf.errors import OutputDirError, UsageError
from torch2tf.serve.configs import (
    BatchingOptions,
    batching_parameters,
    model_server_config,
    monitoring_config,
    write_text_proto,
)
from torch2tf.serve.warmup import WARMUP_FILE, write_warmup_requests

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
SERVING_IMAGE = "tensorflow/serving:2.21.0"  # pinned: the release matching tensorflow-serving-api
CONTAINER_BASE = "/models"


@dataclass
class PackageOptions:
    source: Path  # a convert output directory
    name: str
    repo: Path
    version: int | None = None  # None: the next free version
    force: bool = False
    batching: BatchingOptions | None = None
    monitoring: bool = False
    policy: str = "all"


def package(options: PackageOptions) -> Path:
    """Publish the SavedModel of ``options.source`` as REPO/NAME/VERSION; return that directory."""
    if not NAME_PATTERN.match(options.name) or ".." in options.name:
        raise UsageError(f"model name {options.name!r} is not allowed: use letters, digits, '_', '-', '.' "
                         "(starting with a letter or digit, at most 63 characters)")
    if options.version is not None and options.version < 1:
        raise UsageError(f"--version must be a positive integer, not {options.version}")
    manifest = read_manifest(options.source)
    saved_model = options.source / "saved_model"
    if not (saved_model / "saved_model.pb").is_file() or "signature" not in manifest:
        raise OutputDirError(f"{options.source} is not a torch2tf convert output (no saved_model/ or signature)")
    options.repo.mkdir(parents=True, exist_ok=True)
    model_dir = options.repo / options.name
    version = options.version or next_free_version(model_dir)
    target = model_dir / str(version)
    if target.exists() and not options.force:
        raise OutputDirError(f"{target} already exists", hint="pass --force to replace it, or another --version")
    staging = Path(tempfile.mkdtemp(prefix=f".{options.name}-{version}-", dir=options.repo))
    try:
        version_dir = staging / "version"
        shutil.copytree(saved_model, version_dir)
        write_warmup_requests(version_dir / WARMUP_FILE, options.name, manifest_specs(manifest), manifest.get("seed", 0),
                              manifest_vocab(options.source, manifest))
        (version_dir / "assets.extra" / "torch2tf.json").write_text(json.dumps(
            {"inputs": manifest["inputs"], "outputs": manifest.get("outputs", []), "model": manifest.get("model"),
             "signature": manifest["signature"]}, indent=2))
        model_dir.mkdir(exist_ok=True)
        if target.exists():
            old = staging / "replaced"
            target.rename(old)
        version_dir.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_repository_files(options.repo, options.batching, options.monitoring, options.policy)
    return target


def next_free_version(model_dir: Path) -> int:
    return max(versions_of(model_dir), default=0) + 1


def versions_of(model_dir: Path) -> list[int]:
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()
                  and (p / "saved_model.pb").is_file())


def models_in(repo: Path) -> dict[str, list[int]]:
    return {p.name: versions_of(p) for p in sorted(repo.iterdir())
            if p.is_dir() and not p.name.startswith(".") and versions_of(p)}


def write_repository_files(repo: Path, batching: BatchingOptions | None, monitoring: bool, policy: str) -> None:
    """models.config, the optional batching/monitoring configs, Dockerfile, compose file, README."""
    models = models_in(repo)
    write_text_proto(model_server_config(models, CONTAINER_BASE, policy), repo / "models.config")
    # The local server reads the same file with the repository's own path.
    if batching is not None:
        write_text_proto(batching_parameters(batching), repo / "batching_parameters.txt")
    if monitoring:
        write_text_proto(monitoring_config(), repo / "monitoring.config")
    has_batching = (repo / "batching_parameters.txt").exists()
    has_monitoring = (repo / "monitoring.config").exists()
    (repo / "Dockerfile").write_text(dockerfile(has_batching, has_monitoring))
    (repo / "docker-compose.yml").write_text(COMPOSE)
    (repo / ".dockerignore").write_text(".*\n")
    (repo / "README.md").write_text(readme(models))


def dockerfile(batching: bool, monitoring: bool) -> str:
    flags = ["--model_config_file=/models/models.config", "--port=8500", "--rest_api_port=8501",
             "--enable_model_warmup=true"]
    if batching:
        flags += ["--enable_batching=true", "--batching_parameters_file=/models/batching_parameters.txt"]
    if monitoring:
        flags += ["--monitoring_config_file=/models/monitoring.config"]
    cmd = ", ".join(json.dumps(f) for f in ["tensorflow_model_server", *flags])
    return (f"# Generated by torch2tf: serves every model in this repository with TF Serving.\n"
            f"FROM {SERVING_IMAGE}\n"
            f"COPY . /models\n"
            f"EXPOSE 8500 8501\n"
            f"ENTRYPOINT [{cmd}]\n")


COMPOSE = """# Generated by torch2tf.
services:
  serving:
    build: .
    ports:
      - "8500:8500"   # gRPC
      - "8501:8501"   # REST
    restart: unless-stopped
"""


def readme(models: dict[str, list[int]]) -> str:
    first = next(iter(models), "MODEL")
    listing = "\n".join(f"- `{name}`: versions {', '.join(map(str, versions))}" for name, versions in models.items())
    return f"""# TF Serving model repository (generated by torch2tf)

{listing}

## Run it

    docker build -t model-serving . && docker run -p 8501:8501 -p 8500:8500 model-serving
    # or: docker compose up --build
    # without Docker, for development: torch2tf serve .   (same REST and gRPC API; production uses the image)

## Call it (REST)

    curl http://127.0.0.1:8501/v1/models/{first}
    curl http://127.0.0.1:8501/v1/models/{first}/metadata
    curl -X POST http://127.0.0.1:8501/v1/models/{first}:predict -d '{{"instances": [...]}}'

Inputs and outputs carry the PyTorch names and layout (see `{first}/<version>/assets.extra/torch2tf.json`).

## Call it (Python, gRPC)

```python
import grpc, numpy as np, tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel("127.0.0.1:8500"))
request = predict_pb2.PredictRequest()
request.model_spec.name = "{first}"
request.inputs["INPUT_NAME"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 3, 224, 224), np.float32)))
response = stub.Predict(request, timeout=10)
print({{k: tf.make_ndarray(v) for k, v in response.outputs.items()}})
```

Check parity over the wire: `torch2tf smoke http://127.0.0.1:8501 --model {first} --from CONVERT_OUTPUT_DIR`.
"""
