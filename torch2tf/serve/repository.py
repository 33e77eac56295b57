"""A TF Serving model repository: REPO/NAME/VERSION/{saved_model.pb, variables/, assets.extra/}.

A version is staged inside REPO (same filesystem) and renamed into place, because TF Serving
polls the base path and would load a half-copied version. models.config, the Dockerfile,
docker-compose.yml and a README are regenerated from what REPO holds after every publish.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from torch2tf.artifacts import manifest_vocab, read_manifest
from torch2tf.errors import OutputDirError, UsageError
from torch2tf.native_logs import import_tensorflow
from torch2tf.records import Manifest, write_json
from torch2tf.serve.compat import incompatibilities, release_of, serving_ops
from torch2tf.serve.configs import (
    BatchingOptions,
    batching_parameters,
    model_server_config,
    monitoring_config,
    write_config,
    write_text_proto,
)
from torch2tf.serve.image import (
    COMPOSE,
    CONTAINER_BASE,
    DEFAULT_SERVING_IMAGE,
    DOCKERIGNORE,
    SETTINGS_FILE,
    RepositorySettings,
    dockerfile,
)
from torch2tf.serve.kubernetes import manifests
from torch2tf.serve.repository_readme import PACKAGE_INFO, readme
from torch2tf.serve.warmup import WARMUP_FILE, write_warmup_requests
from torch2tf.specs import SIGNATURE_KEY
from torch2tf.stop import raise_if_stopped
from torch2tf.workspace import is_safe_name, owned_dir

IMAGE_PATTERN = re.compile(r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?")
MAX_VERSION = 2 ** 63 - 1  # TF Serving versions are int64
STAGING_PREFIX = ".torch2tf-package-"
REPO_LOCK = ".torch2tf-repository.lock"


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
    serving_image: str | None = None  # None: what the repository already uses (default: image.DEFAULT_SERVING_IMAGE)
    kubernetes: bool = False  # write REPO/k8s/ (kept up to date by every later package once written)
    new_version: bool = False  # publish even when the latest version holds the same SavedModel


@dataclass(frozen=True)
class Packaged:
    version_dir: Path  # REPO/NAME/VERSION
    published: bool  # False: the latest version already held this SavedModel, nothing was published


def package(options: PackageOptions) -> Packaged:
    """Publish the SavedModel of ``options.source`` as REPO/NAME/VERSION.

    The version is staged inside REPO and claimed by renaming it into place: a rename onto an
    existing version fails, so two concurrent runs never publish the same number; with no
    --version the next free number is taken. With no --version, a SavedModel identical to the latest
    version's (same files, same bytes) publishes nothing (``new_version`` publishes it anyway); the
    repository's files are written either way (``kubernetes`` on an existing repository only adds k8s/).
    """
    manifest = _check_package_options(options)
    model_dir = options.repo / options.name
    latest = max(versions_of(model_dir), default=None) if model_dir.is_dir() else None
    if options.version is None and not options.new_version and latest is not None \
            and saved_model_digest(options.source / "saved_model") == saved_model_digest(model_dir / str(latest)):
        _write_repository(options)
        return Packaged(model_dir / str(latest), published=False)
    with owned_dir(options.repo, STAGING_PREFIX) as staging:
        version_dir = staging / "version"
        shutil.copytree(options.source / "saved_model", version_dir)
        write_warmup_requests(version_dir / WARMUP_FILE, options.name, manifest.specs(), manifest.input_keys(),
                              manifest.seed, manifest_vocab(options.source, manifest))
        (version_dir / PACKAGE_INFO).parent.mkdir(exist_ok=True)
        package_info = Manifest(model=manifest.model, inputs=manifest.inputs, outputs=manifest.outputs,
                                signature=manifest.signature)
        write_json(version_dir / PACKAGE_INFO, package_info.to_json())
        _readable_by_all(version_dir)
        if not model_dir.is_dir():
            model_dir.mkdir(exist_ok=True)  # a concurrent run may create it first
            model_dir.chmod(0o755)
        raise_if_stopped()  # never publish after a stop request
        target = _claim_version(version_dir, model_dir, options, staging)
    _write_repository(options)
    return Packaged(target, published=True)


def _write_repository(options: PackageOptions) -> None:
    with FileLock(str(options.repo / REPO_LOCK)):  # concurrent publishers regenerate the configs one at a time
        settings = RepositorySettings.load(options.repo)
        settings.serving_image = options.serving_image or settings.serving_image
        settings.kubernetes = settings.kubernetes or options.kubernetes
        write_config(options.repo / SETTINGS_FILE, settings.to_json())
        write_repository_files(options.repo, options.batching, options.monitoring, options.policy, settings)


def saved_model_digest(directory: Path) -> str:
    """sha256 over a SavedModel's files (relative path and bytes), leaving out what packaging adds
    (assets.extra/: the warmup requests and torch2tf.json): a convert output's and a version's compare."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative.startswith("assets.extra/"):
            continue
        digest.update(relative.encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def _readable_by_all(directory: Path) -> None:
    """The image runs TF Serving as a non-root user: files 0644, directories 0755, whatever the umask was."""
    directory.chmod(0o755)
    for path in directory.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _check_package_options(options: PackageOptions) -> Manifest:
    if not is_safe_name(options.name):
        raise UsageError(f"model name {options.name!r} is not allowed: use letters, digits, '_', '-', '.' "
                         "(starting with a letter or digit, at most 63 characters)")
    if options.version is not None and not 1 <= options.version <= MAX_VERSION:
        raise UsageError(f"--version must be between 1 and {MAX_VERSION} (TF Serving's int64), not {options.version}")
    if options.serving_image is not None and not IMAGE_PATTERN.fullmatch(options.serving_image):
        raise UsageError(f"--serving-image {options.serving_image!r} is not an image reference "
                         f"(e.g. {DEFAULT_SERVING_IMAGE})")
    manifest = read_manifest(options.source)
    saved_model = options.source / "saved_model" / "saved_model.pb"
    if not saved_model.is_file() or manifest.signature is None:
        raise OutputDirError(f"{options.source} is not a torch2tf convert output (no saved_model/ or signature)")
    proto = check_saved_model(saved_model)
    image = options.serving_image or RepositorySettings.load(options.repo).serving_image
    if release_of(image) == serving_ops()["tensorflow"]:
        problems = incompatibilities(proto)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise OutputDirError(f"{image} cannot load {saved_model}: {problems[0]}{more}",
                                 hint="pass --serving-image with a newer TF Serving release")
    blocking = next((p for p in [options.repo, *options.repo.parents] if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise UsageError(f"--repo {options.repo}: {blocking} is a file, not a directory")
    try:
        options.repo.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --repo {options.repo}: {exc.strerror or exc}") from exc
    return manifest


def check_saved_model(path: Path):
    """A saved_model.pb that parses and has the serving_default signature TF Serving will call."""
    import_tensorflow()
    from tensorflow.core.protobuf import saved_model_pb2

    try:
        proto = saved_model_pb2.SavedModel.FromString(path.read_bytes())
    except Exception as exc:  # protobuf's DecodeError, or garbage it cannot even frame
        raise OutputDirError(f"{path} is not a SavedModel: {str(exc).splitlines()[0] if str(exc) else exc}") from exc
    if not proto.meta_graphs or SIGNATURE_KEY not in proto.meta_graphs[0].signature_def:
        raise OutputDirError(f"{path} has no serving_default signature: TF Serving could not call it")
    return proto


def _claim_version(version_dir: Path, model_dir: Path, options: PackageOptions, staging: Path) -> Path:
    """Rename the staged version into place; the rename is the claim on its number."""
    version = options.version or next_free_version(model_dir)
    while True:
        target = model_dir / str(version)
        if target.exists() and options.version is not None:
            if not options.force:
                raise OutputDirError(f"{target} already exists", hint="pass --force to replace it, or another --version")
            target.rename(staging / "replaced")
        try:
            version_dir.rename(target)
            return target
        except OSError:  # another run claimed this number first (rename onto a non-empty directory)
            if options.version is not None:
                raise OutputDirError(f"{target} was published by another run at the same time") from None
            version += 1


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


def write_repository_files(repo: Path, batching: BatchingOptions | None, monitoring: bool, policy: str,
                           settings: RepositorySettings | None = None) -> None:
    """models.config, the optional batching/monitoring configs, Dockerfile, compose file, README, k8s/."""
    settings = settings or RepositorySettings.load(repo)
    models = models_in(repo)
    write_text_proto(model_server_config(models, CONTAINER_BASE, policy), repo / "models.config")
    # The local server reads the same file with the repository's own path.
    if batching is not None:
        write_text_proto(batching_parameters(batching), repo / "batching_parameters.txt")
    if monitoring:
        write_text_proto(monitoring_config(), repo / "monitoring.config")
    has_batching = (repo / "batching_parameters.txt").exists()
    has_monitoring = (repo / "monitoring.config").exists()
    write_config(repo / "Dockerfile", dockerfile(list(models), has_batching, has_monitoring, settings.serving_image))
    write_config(repo / "docker-compose.yml", COMPOSE)
    write_config(repo / ".dockerignore", DOCKERIGNORE)
    write_config(repo / "README.md", readme(repo, models, settings))
    if settings.kubernetes:
        for relative, text in manifests(list(models), settings).items():
            (repo / "k8s" / relative).parent.mkdir(parents=True, exist_ok=True)
            write_config(repo / "k8s" / relative, text)
