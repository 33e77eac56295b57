"""Can the serving image's TF Serving load this SavedModel? Checked before it is published.

The SavedModel is written by the pinned TensorFlow; the image runs the TensorFlow of its own release.
TF loads a graph when its GraphDef ``min_consumer`` is not above the loader's graph version, and
every node names an operator the loader registers with only attributes it knows (TF 2.21, for one,
added ``Tshape`` to ``TensorListGetItem``). ``data/serving_ops.json`` lists the operators and
attributes of the release the default image runs (``scripts/serving_ops.py`` writes it).
"""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def serving_ops() -> dict[str, Any]:
    return json.loads(resources.files("torch2tf.data").joinpath("serving_ops.json").read_text())


def release_of(image: str) -> str:
    """``tensorflow/serving:2.20.0`` → ``2.20.0``; ``2.20.0-gpu`` → ``2.20.0``; anything else → ``""``."""
    repository, _, tag = image.rpartition(":")
    if "/" in tag or not repository.endswith("tensorflow/serving"):
        return ""
    return tag.split("-", 1)[0]


def incompatibilities(saved_model, known: dict[str, Any] | None = None) -> list[str]:
    """What would stop the release described by ``known`` from loading ``saved_model`` (a SavedModel proto)."""
    known = known or serving_ops()
    ops: dict[str, list[str]] = known["ops"]
    problems = []
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        if graph.versions.min_consumer > known["graph_def_version"]:
            problems.append(f"the graph needs a GraphDef consumer version ≥ {graph.versions.min_consumer}; "
                            f"TensorFlow {known['tensorflow']} is {known['graph_def_version']}")
        nodes = [*graph.node, *(node for function in graph.library.function for node in function.node_def)]
        functions = {function.signature.name for function in graph.library.function}
        for node in nodes:
            if node.op in functions:
                continue  # a call of a function of the graph's own library
            if node.op not in ops:
                problems.append(f"operator {node.op} does not exist in TensorFlow {known['tensorflow']}")
                continue
            unknown = sorted(a for a in node.attr if not a.startswith("_") and a not in ops[node.op])
            if unknown:
                problems.append(f"{node.op} has attribute(s) {', '.join(unknown)} that TensorFlow "
                                f"{known['tensorflow']} does not know")
    return sorted(set(problems))
