"""onnxsim's passes in a child process: ``python -m torch2tf.convert.onnxsim_child PASSES ARG...``.

onnxsim's own command-line ``main`` runs once per pass in one interpreter (a crash stays in the
child). Started ahead (``--wait``, see children.py) it imports onnxsim first, then reads its
arguments as one JSON list from stdin.
"""
from __future__ import annotations

import atexit
import json
import os
import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["--wait"]:
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
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()  # Python's exit handlers (TensorFlow's autograph temp files go here)
    os._exit(code)  # the model is written: skip torch's native teardown
