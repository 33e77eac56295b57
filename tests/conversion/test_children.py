"""Children started ahead: the first onnxsim and onnx2tf runs take them, a dead one is replaced, unused ones stop."""
from __future__ import annotations

import threading

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch2tf.conversion.children import started_ahead
from torch2tf.conversion.onnx_to_tf import Onnx2TfRequest, run_onnx2tf
from torch2tf.conversion.simplify import simplify_in_place

pytestmark = pytest.mark.slow  # real onnxsim and onnx2tf runs


def _conv_relu(path):
    weight = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Identity", ["c"], ["i"]),  # onnxsim removes it: its run is visible
             helper.make_node("Relu", ["i"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [numpy_helper.from_array(weight, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _request(onnx_path, out):
    return Onnx2TfRequest(onnx_path=str(onnx_path), output_dir=str(out), use_onnxsim=False,
                          input_shapes={"x": [1, 3, 8, 8]})


def test_the_first_runs_take_the_children_started_ahead(tmp_path):
    model = _conv_relu(tmp_path / "model.onnx")
    meanwhile = []
    with started_ahead(tmp_path / "work") as ahead:
        processes = {kind: child.process for kind, child in ahead.children.items()}
        simplify_in_place(model)
        result = run_onnx2tf(_request(model, tmp_path / "raw"), tmp_path / "run",
                             meanwhile=lambda: meanwhile.append(threading.current_thread().name))
        assert ahead.children == {}  # both taken
    assert [n.op_type for n in onnx.load(str(model)).graph.node] == ["Conv", "Relu"]  # onnxsim ran
    assert result.tflite_float32.exists() and (result.saved_model_dir / "saved_model.pb").exists()
    log = result.log_path.read_text()
    assert f"TORCH2TF-STARTED-AHEAD {processes['onnx2tf'].pid}" in log and "TORCH2TF-JOB-OK 0" in log
    assert meanwhile == ["onnx2tf-meanwhile"]  # ran beside the child and was done when the run returned
    assert all(p.poll() is not None for p in processes.values())


def test_a_child_that_died_ahead_is_replaced(tmp_path):
    model = _conv_relu(tmp_path / "model.onnx")
    with started_ahead(tmp_path / "work") as ahead:
        dead = ahead.children["onnx2tf"].process
        dead.kill()
        dead.wait()
        result = run_onnx2tf(_request(model, tmp_path / "raw"), tmp_path / "run")
    log = result.log_path.read_text()
    assert "TORCH2TF-STARTED-AHEAD" not in log and "TORCH2TF-JOB-OK 0" in log  # a child of its own did it
    assert result.tflite_float32.exists()


def test_children_not_needed_are_stopped(tmp_path):
    with started_ahead(tmp_path) as ahead:
        processes = [child.process for child in ahead.children.values()]
        assert len(processes) == 2 and all(p.poll() is None for p in processes)
    assert all(p.poll() is not None for p in processes)


def test_an_interrupt_waits_for_the_meanwhile_work(tmp_path):
    """The meanwhile thread may hold fd 2 (a quiet TensorFlow import): the error line must come after it."""
    model = _conv_relu(tmp_path / "model.onnx")
    done = threading.Event()

    def slow():
        threading.Event().wait(1.0)
        done.set()

    def interrupt_soon():
        threading.Event().wait(0.2)
        import _thread
        _thread.interrupt_main()

    threading.Thread(target=interrupt_soon, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_onnx2tf(_request(model, tmp_path / "raw"), tmp_path / "run", meanwhile=slow)
    assert done.is_set()


def test_children_ahead_yield_to_the_parent_and_stop_ends_those_not_taken(tmp_path):
    import os
    import time

    from torch2tf.conversion.children import AHEAD_NICENESS, take_ahead

    with started_ahead(tmp_path / "work", onnx2tf_runs=3) as ahead:
        processes = [child.process for child in ahead.children.values()]
        assert len(processes) == 2  # onnxsim and the first onnx2tf
        wanted = min(os.getpriority(os.PRIO_PROCESS, 0) + AHEAD_NICENESS, 19)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                any(os.getpriority(os.PRIO_PROCESS, p.pid) != wanted for p in processes):
            time.sleep(0.05)  # each lowers its own priority first thing
        assert [os.getpriority(os.PRIO_PROCESS, p.pid) for p in processes] == [wanted, wanted]
        ahead.stop()  # as when the export came from the cache
        assert all(p.poll() is not None for p in processes)
        assert take_ahead("onnx2tf") is None and take_ahead("onnxsim") is None and ahead.started == 2


def test_a_child_that_died_silently_is_described_by_how_it_ended(tmp_path):
    from torch2tf.conversion.children import summarize_log

    log = tmp_path / "onnx2tf.log"
    log.write_text("I0000 00:00:1.5 1 port.cc:153] oneDNN custom operations are on.\n"
                   "TORCH2TF-STARTED-AHEAD 12749\nTORCH2TF-JOB-START 0\n")
    assert summarize_log(log, returncode=-11) == "the onnx2tf process was killed by SIGSEGV, with no message"
    assert summarize_log(log, returncode=1) == "no output (crashed?)"
    log.write_text("TORCH2TF-JOB-START 0\nValueError: Dimensions must be equal\n")
    assert summarize_log(log, returncode=1) == "ValueError: Dimensions must be equal"
