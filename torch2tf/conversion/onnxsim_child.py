"""onnxsim's passes in a child process: ``python -m torch2tf.conversion.onnxsim_child PASSES ARG...``.

onnxsim's own command-line ``main`` runs once per pass in one interpreter (a crash stays in the
child). Started ahead (``--wait``, see children.py) it imports onnxsim first, then reads its
arguments as one JSON list from stdin.
"""
from __future__ import annotations

import json
import sys

from torch2tf.conversion.children import yield_to_parent
from torch2tf.native_logs import exit_past_teardown


def main(argv: list[str]) -> int:
    if argv[:1] == ["--wait"]:
        yield_to_parent()
        import onnxsim  # noqa: F401  (the point of starting ahead: the import happens before the work)

        line = sys.stdin.readline()
        if not line.strip():  # stdin closed: the parent did not need this child
            return 0
        argv = json.loads(line)
    from onnxsim import main as onnxsim_main

    passes, args = int(argv[0]), argv[1:]
    for _ in range(passes):
        sys.argv = ["onnxsim", *args]
        onnxsim_main()
    return 0


if __name__ == "__main__":
    exit_past_teardown(main(sys.argv[1:]))  # the model is written
