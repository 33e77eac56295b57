"""What a packaged repository hands to Docker, Kubernetes and KServe: linted and validated offline."""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.serve.manifest_schemas import ManifestError, validate_kserve, validate_kubernetes
from torch2tf.cli import main
from torch2tf.serve.image import DEFAULT_SERVING_IMAGE, dockerfile

HADOLINT = shutil.which("hadolint") or str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hadolint")


def hadolint(path: Path) -> subprocess.CompletedProcess:
    """Every rule on, none ignored: the generated files need no exceptions."""
    return subprocess.run([HADOLINT, "--no-color", str(path)], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def k8s_repo(served_model, tmp_path_factory) -> Path:
    from click.testing import CliRunner

    repo = tmp_path_factory.mktemp("k8s") / "models"
    for name in ("tiny", "Other_1"):
        result = CliRunner().invoke(main, ["package", str(served_model), "--name", name, "--repo", str(repo),
                                           "--kubernetes", "--batching", "--monitoring"])
        assert result.exit_code == 0, result.output
    return repo


def documents(repo: Path) -> dict[str, dict]:
    return {str(p.relative_to(repo / "k8s")): yaml.safe_load(p.read_text()) for p in sorted((repo / "k8s").rglob("*.yaml"))}


def test_generated_dockerfile_passes_hadolint(k8s_repo):
    text = (k8s_repo / "Dockerfile").read_text()
    assert f"FROM {DEFAULT_SERVING_IMAGE}\n" in text
    assert "COPY tiny/ /models/tiny/" in text and "COPY Other_1/ /models/Other_1/" in text
    assert "COPY . " not in text and "\nUSER 65532:65532\n" in text
    result = hadolint(k8s_repo / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_project_dockerfiles_pass_hadolint():
    for path in (REPO / "docker").glob("*.Dockerfile"):
        result = hadolint(path)
        assert result.returncode == 0, f"{path.name}: {result.stdout}{result.stderr}"
    assert "--index-url https://download.pytorch.org/whl/cpu torch==2.13.0" in (
        REPO / "docker" / "torch2tf.Dockerfile").read_text()


def test_hadolint_catches_what_it_should(tmp_path):
    """The linter really runs: an unpinned base image and a root user are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(dockerfile(["m"], False, False, "tensorflow/serving:latest").replace("USER 65532:65532", "USER root"))
    result = hadolint(bad)
    assert result.returncode != 0 and "DL3007" in result.stdout and "DL3002" in result.stdout


def test_docker_template_matches_generated_dockerfile():
    assert (REPO / "docker" / "serving.Dockerfile").read_text() == dockerfile(["MODEL"], False, False)


def test_every_manifest_validates(k8s_repo):
    docs = documents(k8s_repo)
    assert sorted(docs) == ["deployment.yaml", "hpa.yaml", "kserve/Other_1.yaml", "kserve/tiny.yaml",
                            "kustomization.yaml", "pdb.yaml", "service.yaml"]
    assert sorted(docs["kustomization.yaml"]["resources"]) == ["deployment.yaml", "hpa.yaml", "pdb.yaml",
                                                               "service.yaml"]
    for path, doc in docs.items():
        if path.startswith("kserve/"):
            validate_kserve(doc)
        elif path != "kustomization.yaml":
            validate_kubernetes(doc)
    kinds = {doc["kind"] for doc in docs.values()}
    assert kinds == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Kustomization",
                     "InferenceService"}


def test_deployment_contract(k8s_repo):
    pod = documents(k8s_repo)["deployment.yaml"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {p["containerPort"] for p in container["ports"]} == {8500, 8501}
    # GET /v1/models/NAME answers 200 while LOADING or END: readiness reads metadata, served only when AVAILABLE.
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models/Other_1/metadata"
    assert container["startupProbe"]["httpGet"]["path"].endswith("/metadata") and "livenessProbe" in container
    assert set(container["resources"]) == {"requests", "limits"}
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"]
    isvc = documents(k8s_repo)["kserve/tiny.yaml"]
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "tensorflow"} and model["runtimeVersion"] == "2.20.0"
    assert model["storageUri"].endswith("/tiny") and {p["containerPort"] for p in model["ports"]} == {8080, 9000}
    assert isvc["metadata"]["name"] == "tiny" and documents(k8s_repo)["kserve/Other_1.yaml"]["metadata"][
        "name"] == "other-1"


@pytest.mark.parametrize("path, mutate, validate", [
    ("deployment.yaml", lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(
        containerPort="8500"), validate_kubernetes),
    ("deployment.yaml", lambda d: d["spec"]["template"]["spec"].pop("containers"), validate_kubernetes),
    ("service.yaml", lambda d: d["spec"]["ports"][0].update(prot=8500), validate_kubernetes),
    ("hpa.yaml", lambda d: d["spec"].update(minReplicas="two"), validate_kubernetes),
    ("kserve/tiny.yaml", lambda d: d["spec"]["predictor"]["model"]["ports"][0].update(containerPort="8080"),
     validate_kserve),
    ("kserve/tiny.yaml", lambda d: d["spec"].pop("predictor"), validate_kserve),
    ("kserve/tiny.yaml", lambda d: d["spec"]["predictor"].update(modle={}), validate_kserve),
])
def test_an_invalid_field_fails_validation(k8s_repo, path, mutate, validate):
    document = copy.deepcopy(documents(k8s_repo)[path])
    validate(document)
    mutate(document)
    with pytest.raises(ManifestError):
        validate(document)


def test_serving_image_is_remembered(served_model, tmp_path, cli_runner):
    repo = tmp_path / "models"
    result = cli_runner.invoke(main, ["package", str(served_model), "--name", "m", "--repo", str(repo),
                                      "--serving-image", "tensorflow/serving:2.19.1", "--kubernetes"])
    assert result.exit_code == 0, result.output
    result = cli_runner.invoke(main, ["package", str(served_model), "--name", "m", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert "FROM tensorflow/serving:2.19.1\n" in (repo / "Dockerfile").read_text()
    assert yaml.safe_load((repo / "k8s" / "kserve" / "m.yaml").read_text())["spec"]["predictor"]["model"][
        "runtimeVersion"] == "2.19.1"
    result = cli_runner.invoke(main, ["package", str(served_model), "--name", "m", "--repo", str(repo),
                                      "--serving-image", "bad image\n"])
    assert result.exit_code == 2 and "not an image reference" in result.output


def test_compose_file_matches_the_compose_spec(k8s_repo):
    check = shutil.which("check-jsonschema") or str(Path(HADOLINT).parent / "check-jsonschema")
    result = subprocess.run([check, "--builtin-schema", "vendor.compose-spec", str(k8s_repo / "docker-compose.yml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
