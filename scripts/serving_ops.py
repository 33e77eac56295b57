"""Write torch2tf/data/serving_ops.json: the operators (and their attributes) a TF release registers.

`torch2tf package` checks a SavedModel against it before publishing, so a graph written by the
pinned TensorFlow never reaches a TF Serving image that cannot load it. Run it with the TensorFlow
of the serving image's release, in an environment of its own:

    python3.11 -m venv /tmp/tf220 && /tmp/tf220/bin/pip install tensorflow-cpu==2.20.0
    /tmp/tf220/bin/python scripts/serving_ops.py torch2tf/data/serving_ops.json
"""
from __future__ import annotations

import json
import sys


def main(path: str) -> None:
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session as c_api

    buffer = c_api.TF_GetAllOpList()
    try:
        op_list = op_def_pb2.OpList.FromString(c_api.TF_GetBuffer(buffer))
    finally:
        c_api.TF_DeleteBuffer(buffer)
    document = {"tensorflow": tf.__version__, "graph_def_version": tf.version.GRAPH_DEF_VERSION,
                "ops": {op.name: sorted(attr.name for attr in op.attr) for op in sorted(op_list.op, key=lambda o: o.name)}}
    with open(path, "w") as fh:
        json.dump(document, fh, separators=(",", ":"), sort_keys=True)
        fh.write("\n")
    print(f"{len(document['ops'])} ops of TensorFlow {tf.__version__} → {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "torch2tf/data/serving_ops.json")
