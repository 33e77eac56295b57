"""The SavedModel written by the pinned TensorFlow, checked against the TF release of the serving image."""
from __future__ import annotations

import pytest

from torch2tf.cli import main
from torch2tf.serve.compat import incompatibilities, release_of, serving_ops


def saved_model_proto(path):
    from tensorflow.core.protobuf import saved_model_pb2

    from torch2tf.native_logs import import_tensorflow

    import_tensorflow()
    return saved_model_pb2.SavedModel.FromString((path / "saved_model" / "saved_model.pb").read_bytes())


def test_table_is_the_default_images_release():
    from torch2tf.serve.image import DEFAULT_SERVING_IMAGE

    table = serving_ops()
    assert release_of(DEFAULT_SERVING_IMAGE) == table["tensorflow"] == "2.20.0"
    assert len(table["ops"]) > 1500 and "Conv2D" in table["ops"] and "strides" in table["ops"]["Conv2D"]
    assert release_of("tensorflow/serving:2.20.0-gpu") == "2.20.0" and release_of("me/serving:1") == ""


@pytest.mark.slow
def test_converted_model_loads_in_the_default_release(converted):
    """Every node (graph and function library) names an op TF 2.20 registers, with attributes it knows."""
    proto = saved_model_proto(converted)
    ops = {node.op for graph in proto.meta_graphs for node in graph.graph_def.node}
    assert ops and incompatibilities(proto) == []


@pytest.mark.slow
def test_unknown_op_attribute_and_version_are_reported(converted):
    proto = saved_model_proto(converted)
    graph = proto.meta_graphs[0].graph_def
    graph.node.add(name="jxl", op="DecodeJxl")  # added in TF 2.21
    node = graph.node.add(name="get", op="TensorListGetItem")
    node.attr["Tshape"].type = 1  # attribute added in TF 2.21
    graph.versions.min_consumer = serving_ops()["graph_def_version"] + 1
    problems = "\n".join(incompatibilities(proto))
    assert "operator DecodeJxl does not exist in TensorFlow 2.20.0" in problems
    assert "TensorListGetItem has attribute(s) Tshape" in problems
    assert "GraphDef consumer version" in problems


@pytest.mark.slow
def test_package_refuses_what_the_image_cannot_load(converted, tmp_path, cli_runner):
    import shutil

    source = tmp_path / "converted"
    shutil.copytree(converted, source)
    proto = saved_model_proto(source)
    proto.meta_graphs[0].graph_def.node.add(name="jxl", op="DecodeJxl")
    (source / "saved_model" / "saved_model.pb").write_bytes(proto.SerializeToString())
    result = cli_runner.invoke(main, ["package", str(source), "--name", "m", "--repo", str(tmp_path / "r")])
    assert result.exit_code == 2 and "tensorflow/serving:2.20.0 cannot load" in result.output
    assert "DecodeJxl" in result.output and not (tmp_path / "r" / "m").exists()
