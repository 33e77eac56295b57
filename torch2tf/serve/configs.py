"""TF Serving configuration files, written through protobuf messages and parsed back the same way.

models.config uses the real ``ModelServerConfig`` from tensorflow-serving-api. The pip package
does not ship the protos of ``monitoring.config`` (MonitoringConfig) and
``batching_parameters.txt`` (BatchingParameters), so they are declared here with the field names
and numbers of TF Serving's ``monitoring_config.proto`` and ``session_bundle_config.proto``; text
format only depends on the names.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch2tf.native_logs import import_tensorflow
from torch2tf.workspace import write_atomically

MONITORING_PATH = "/monitoring/prometheus/metrics"


@dataclass
class BatchingOptions:
    max_batch_size: int = 32
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 100
    num_batch_threads: int = 4


def model_server_config(models: dict[str, list[int]], base_dir: str, policy: str = "all"):
    """A ModelServerConfig serving each model (name → versions present) from ``base_dir/name``."""
    import_tensorflow()  # quietly, before tensorflow_serving's protos import it
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    for name, versions in sorted(models.items()):
        entry = config.model_config_list.config.add()
        entry.name = name
        entry.base_path = f"{base_dir.rstrip('/')}/{name}"
        entry.model_platform = "tensorflow"
        if policy == "all":
            entry.model_version_policy.all.SetInParent()
        elif policy == "latest":
            entry.model_version_policy.latest.num_versions = 1
        else:
            entry.model_version_policy.specific.versions.extend(sorted(versions))
    return config


def write_text_proto(message, path: Path) -> None:
    from google.protobuf import text_format

    write_config(path, text_format.MessageToString(message))


def write_config(path: Path, text: str) -> None:
    """Replace a repository file atomically (TF Serving polls it), readable by the image's non-root user."""
    write_atomically(path, text, mode=0o644)


def parse_model_server_config(path: Path):
    import_tensorflow()
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())


def _message_classes() -> dict:
    """MonitoringConfig and BatchingParameters, built from descriptors (see the module docstring)."""
    from google.protobuf import (
        descriptor_pb2,
        descriptor_pool,
        message_factory,
        wrappers_pb2,  # noqa: F401  (registers Int64Value in the default pool)
    )

    pool = descriptor_pool.Default()
    try:
        pool.FindMessageTypeByName("torch2tf.serving.MonitoringConfig")
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto(name="torch2tf/serving_configs.proto",
                                                   package="torch2tf.serving",
                                                   dependency=["google/protobuf/wrappers.proto"])
        prometheus = proto.message_type.add(name="PrometheusConfig")
        prometheus.field.add(name="enable", number=1, type=8, label=1)  # bool
        prometheus.field.add(name="path", number=2, type=9, label=1)  # string
        monitoring = proto.message_type.add(name="MonitoringConfig")
        monitoring.field.add(name="prometheus_config", number=1, type=11, label=1,
                             type_name=".torch2tf.serving.PrometheusConfig")
        batching = proto.message_type.add(name="BatchingParameters")
        for number, name in ((1, "max_batch_size"), (2, "batch_timeout_micros"), (3, "max_enqueued_batches"),
                             (4, "num_batch_threads")):
            batching.field.add(name=name, number=number, type=11, label=1, type_name=".google.protobuf.Int64Value")
        pool.Add(proto)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"torch2tf.serving.{name}"))
            for name in ("MonitoringConfig", "BatchingParameters")}


def monitoring_config():
    message = _message_classes()["MonitoringConfig"]()
    message.prometheus_config.enable = True
    message.prometheus_config.path = MONITORING_PATH
    return message


def batching_parameters(options: BatchingOptions):
    message = _message_classes()["BatchingParameters"]()
    for name in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads"):
        getattr(message, name).value = getattr(options, name)
    return message


def parse_text(path: Path, kind: str):
    """Parse ``monitoring.config`` (kind MonitoringConfig) or ``batching_parameters.txt`` (BatchingParameters)."""
    from google.protobuf import text_format

    return text_format.Parse(path.read_text(), _message_classes()[kind]())
