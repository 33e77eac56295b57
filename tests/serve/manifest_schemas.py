"""Offline validation of generated manifests: Kubernetes kinds against the Kubernetes API schemas
(kubernetes-validate, strict: unknown fields fail), a KServe InferenceService against KServe's own
model types (the kserve 0.21.0 SDK's ``openapi_types``/``attribute_map``; the Kubernetes types they
embed, such as V1ContainerPort, against the same Kubernetes schemas).

The SDK is not importable in our environment (it pins protobuf<7); ``make venv`` unpacks it beside
it (.venv/kserve-sdk) and its ``kserve.models`` package, which needs only six and urllib3, is
loaded without the SDK's server-side ``__init__``.
"""
from __future__ import annotations

import importlib
import json
import sys
import types
from functools import cache
from pathlib import Path

KUBERNETES_VERSION = "1.33"
KSERVE_SDK = Path(sys.prefix) / "kserve-sdk" / "kserve"
PRIMITIVES = {"str": str, "int": int, "float": (int, float), "bool": bool, "object": object, "datetime": str,
              "date": str}


class ManifestError(AssertionError):
    pass


def validate_kubernetes(document: dict) -> None:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        raise ManifestError(f"{document.get('kind')}: {exc.message} at {list(exc.absolute_path)}") from exc


@cache
def kserve_models():
    if not (KSERVE_SDK / "models" / "__init__.py").is_file():
        raise RuntimeError(f"{KSERVE_SDK} is missing: run make venv (it unpacks the kserve SDK there)")
    package = types.ModuleType("kserve")
    package.__path__ = [str(KSERVE_SDK)]
    sys.modules.setdefault("kserve", package)
    return importlib.import_module("kserve.models")


def validate_kserve(document: dict) -> None:
    """Check an InferenceService field by field against KServe's V1beta1InferenceService type."""
    _check(document, "V1beta1InferenceService", "InferenceService")


def _check(value, type_name: str, where: str) -> None:
    if type_name.startswith("list["):
        if not isinstance(value, list):
            raise ManifestError(f"{where}: expected a list, got {value!r}")
        for index, item in enumerate(value):
            _check(item, type_name[5:-1], f"{where}[{index}]")
    elif type_name.startswith("dict("):
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: expected a mapping, got {value!r}")
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            _check(item, inner, f"{where}.{key}")
    elif type_name in PRIMITIVES:
        if not isinstance(value, PRIMITIVES[type_name]) or (type_name == "int" and isinstance(value, bool)):
            raise ManifestError(f"{where}: expected {type_name}, got {value!r}")
    elif type_name.startswith(("V1beta1", "V1alpha1")):
        _check_kserve_object(value, type_name, where)
    else:
        _check_kubernetes_object(value, type_name, where)


def _check_kserve_object(value, type_name: str, where: str) -> None:
    cls = getattr(kserve_models(), type_name)
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected a {type_name} mapping, got {value!r}")
    by_json_name = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    unknown = sorted(set(value) - set(by_json_name))
    if unknown:
        raise ManifestError(f"{where}: {type_name} has no field(s) {', '.join(unknown)}")
    for json_name, item in value.items():
        _check(item, cls.openapi_types[by_json_name[json_name]], f"{where}.{json_name}")
    try:  # the type's own setters: required fields and allowed values
        cls(**{by_json_name[k]: v for k, v in value.items()})
    except ValueError as exc:
        raise ManifestError(f"{where}: {exc}") from exc


@cache
def _kubernetes_definitions() -> dict:
    import kubernetes_validate

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    directory = sorted(root.glob(f"v{KUBERNETES_VERSION}.*-local-strict"))[-1]
    return json.loads((directory / "_definitions.json").read_text())


def _check_kubernetes_object(value, type_name: str, where: str) -> None:
    """``V1ContainerPort`` → ``io.k8s.api.core.v1.ContainerPort`` (the one definition of that name and version)."""
    import jsonschema
    from referencing import Registry, Resource

    definitions = _kubernetes_definitions()
    version, name = type_name[:2].lower(), type_name[2:]
    matches = [key for key in definitions["$defs"] if key.endswith(f".{version}.{name}")]
    if len(matches) != 1:
        raise RuntimeError(f"no single Kubernetes definition for {type_name}: {matches}")
    registry = Resource.from_contents(definitions) @ Registry()
    schema = {"$schema": definitions["$schema"], "$ref": f"{definitions['$id']}#/$defs/{matches[0]}"}
    try:
        jsonschema.validators.Draft202012Validator(schema, registry=registry).validate(value)
    except jsonschema.ValidationError as exc:
        raise ManifestError(f"{where}: {exc.message} at {list(exc.absolute_path)}") from exc
