"""Packaging into a TF Serving model repository: layout, configs parsed back, atomic versions."""
from __future__ import annotations

import shutil

import pytest

from torch2tf.cli import main


def test_layout_and_models_config(repo):
    from torch2tf.serve.configs import parse_model_server_config

    for name, version in (("tiny", 1), ("tiny", 2), ("other", 5)):
        version_dir = repo / name / str(version)
        assert (version_dir / "saved_model.pb").is_file()
        assert (version_dir / "variables" / "variables.index").is_file()
        assert (version_dir / "assets.extra" / "tf_serving_warmup_requests").is_file()
    config = parse_model_server_config(repo / "models.config")
    entries = {c.name: c for c in config.model_config_list.config}
    assert set(entries) == {"tiny", "other"}
    assert entries["tiny"].base_path == "/models/tiny" and entries["tiny"].model_platform == "tensorflow"
    assert entries["tiny"].model_version_policy.WhichOneof("policy_choice") == "all"
    assert "FROM tensorflow/serving:" in (repo / "Dockerfile").read_text()
    assert "--model_config_file=/models/models.config" in (repo / "Dockerfile").read_text()
    assert "8501:8501" in (repo / "docker-compose.yml").read_text()
    assert "curl" in (repo / "README.md").read_text()
    assert not [p for p in repo.iterdir() if p.name.startswith(".") and p.is_dir()]


def test_warmup_records_are_prediction_logs(repo):
    from torch2tf.native_logs import import_tensorflow

    tf = import_tensorflow()
    from tensorflow_serving.apis import prediction_log_pb2

    records = list(tf.data.TFRecordDataset(str(repo / "tiny" / "1" / "assets.extra" / "tf_serving_warmup_requests")))
    logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in records]
    assert len(logs) == 2
    shapes = [[d.size for d in log.predict_log.request.inputs["image"].tensor_shape.dim] for log in logs]
    assert shapes == [[1, 3, 8, 8], [3, 3, 8, 8]]
    assert logs[0].predict_log.request.model_spec.name == "tiny"


def test_batching_and_monitoring_configs(served_model, tmp_path, cli_runner):
    from torch2tf.serve.configs import parse_model_server_config, parse_text

    repo = tmp_path / "models"
    result = cli_runner.invoke(main, ["package", str(served_model), "--name", "m", "--repo", str(repo), "--batching",
                                      "--max-batch-size", "16", "--monitoring", "--policy", "specific"])
    assert result.exit_code == 0, result.output
    batching = parse_text(repo / "batching_parameters.txt", "BatchingParameters")
    assert batching.max_batch_size.value == 16 and batching.batch_timeout_micros.value == 1000
    monitoring = parse_text(repo / "monitoring.config", "MonitoringConfig")
    assert monitoring.prometheus_config.enable and monitoring.prometheus_config.path == "/monitoring/prometheus/metrics"
    entry = parse_model_server_config(repo / "models.config").model_config_list.config[0]
    assert list(entry.model_version_policy.specific.versions) == [1]
    dockerfile = (repo / "Dockerfile").read_text()
    assert "--enable_batching=true" in dockerfile and "--monitoring_config_file=" in dockerfile


@pytest.mark.parametrize("args, message", [
    (["--name", "../evil"], "is not allowed"),
    (["--name", "a/b"], "is not allowed"),
    (["--name", "tiny", "--version", "1"], "already exists"),
])
def test_refusals_write_nothing(repo_copy, served_model, cli_runner, args, message):
    before = sorted(p.relative_to(repo_copy) for p in repo_copy.rglob("*"))
    result = cli_runner.invoke(main, ["package", str(served_model), "--repo", str(repo_copy), *args])
    assert result.exit_code == 2 and message in result.output
    assert sorted(p.relative_to(repo_copy) for p in repo_copy.rglob("*")) == before


def test_not_a_convert_output(tmp_path, cli_runner):
    (tmp_path / "random").mkdir()
    result = cli_runner.invoke(main, ["package", str(tmp_path / "random"), "--name", "m", "--repo", str(tmp_path / "r")])
    assert result.exit_code == 2 and "not a torch2tf output directory" in result.output


def test_force_replaces_and_next_version(repo_copy, served_model, cli_runner):
    assert cli_runner.invoke(main, ["package", str(served_model), "--name", "tiny", "--repo", str(repo_copy),
                                    "--version", "1", "--force"]).exit_code == 0
    result = cli_runner.invoke(main, ["package", str(served_model), "--name", "tiny", "--repo", str(repo_copy),
                                      "--new-version"])
    assert result.exit_code == 0 and "tiny/3" in result.output


def test_the_same_saved_model_again_publishes_nothing(served_model, tmp_path, cli_runner):
    """Three `package` lines in a row gave versions 1, 7 and 8 of one SavedModel: now the latest version's
    files are compared first; --new-version (or an explicit --version) still publishes."""
    repo = tmp_path / "models"
    args = ["package", str(served_model), "--name", "m", "--repo", str(repo)]
    assert cli_runner.invoke(main, args).output.strip().endswith(f"published {repo / 'm' / '1'}")
    again = cli_runner.invoke(main, args + ["--kubernetes"])
    assert again.exit_code == 0
    assert f"unchanged: {repo / 'm' / '1'} already holds this SavedModel, nothing published" in again.output
    assert sorted(p.name for p in (repo / "m").iterdir()) == ["1"]
    assert (repo / "k8s" / "kustomization.yaml").is_file()  # --kubernetes on an existing repository: manifests only
    assert "published" in cli_runner.invoke(main, args + ["--new-version"]).output
    assert "published" in cli_runner.invoke(main, args + ["--version", "7"]).output
    assert sorted(int(p.name) for p in (repo / "m").iterdir()) == [1, 2, 7]
    from torch2tf.serve.repository import saved_model_digest

    changed = tmp_path / "changed"
    shutil.copytree(served_model, changed)
    (changed / "saved_model" / "variables" / "variables.data-00000-of-00001").write_bytes(b"other weights")
    assert saved_model_digest(changed / "saved_model") != saved_model_digest(repo / "m" / "7")


def test_interrupted_package_leaves_no_version(repo_copy, served_model, monkeypatch):
    import torch2tf.serve.repository as repository

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(repository, "write_warmup_requests", interrupted)
    with pytest.raises(KeyboardInterrupt):
        repository.package(repository.PackageOptions(source=served_model, name="fresh", repo=repo_copy))
    assert not (repo_copy / "fresh").exists()
    assert not [p for p in repo_copy.iterdir() if p.name.startswith(".fresh")]
