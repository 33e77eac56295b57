"""Unroll LSTM and GRU nodes ourselves: one input projection for every step, one matmul per step.

onnx2tf 1.28.8 unrolls a recurrent node into per-step TFLite ops with a separate FULLY_CONNECTED
for every gate, on the input and on the state (6 per GRU step, 8 per LSTM step), ~19 ops a step.
Here the input side of every gate at every step is one MatMul before the loop (it does not depend
on the state), and the state side of all gates is one MatMul per step; the gate math
follows ONNX's equations (LSTM gates i, o, f, c; GRU z, r, h with either ``linear_before_reset``).
A small bidirectional node runs its two directions in the same operators (see _both_directions).
Only the default activations, no clip, no peepholes, no ``input_forget``, no ``sequence_lens``,
layout 0 and a known number of steps up to MAX_STEPS: any other node is left to onnx2tf. Runs
after lstm_initial_states, so the initial states are inputs of the node.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, default_opset
from torch2tf.conversion.rewrites.registry import SPEED, Rewrite

GATES = {"LSTM": 4, "GRU": 3}
# onnx2tf converts node by node (~13 nodes a step here): past this many steps the conversion time
# outgrows what the leaner graph saves, and onnx2tf's own unrolling is used.
MAX_STEPS = 64
# A bidirectional node's directions share each step's operators through block-diagonal weights up to
# this size of its recurrent ones. A one-row product reads all of them every step, so past it pairing
# costs more than it saves (README "Speed edits: the measurements behind them").
MAX_PAIRED_WEIGHT_BYTES = 64 * 1024
DEFAULT_ACTIVATIONS = {"LSTM": [b"Sigmoid", b"Tanh", b"Tanh"], "GRU": [b"Sigmoid", b"Tanh"]}


def unroll_recurrent(model: Any, index: GraphIndex | None = None) -> str:
    if default_opset(model) < 13 or not any(node.op_type in GATES for node in model.graph.node):
        return ""  # (Split takes its sizes as an input from opset 13)
    index = index or GraphIndex(model)
    graph = model.graph
    nodes, done = [], 0
    for node in graph.node:
        steps = _steps_if_supported(node, index)
        if steps is None:
            nodes.append(node)
            continue
        nodes += _Unroller(node, index, steps).nodes(graph)
        done += 1
    if not done:
        return ""
    del graph.node[:]
    graph.node.extend(nodes)
    return f"recurrent: {done} LSTM/GRU node(s) unrolled with one input projection and one matmul per step"


def _steps_if_supported(node: Any, index: GraphIndex) -> int | None:
    if node.op_type not in GATES or node.domain not in ("", "ai.onnx"):
        return None
    attrs = {a.name: a for a in node.attribute}
    activations = [bytes(a) for a in attrs["activations"].strings] if "activations" in attrs else None
    directions = 2 if _direction(attrs) == "bidirectional" else 1
    plain = (not (activations and activations != DEFAULT_ACTIVATIONS[node.op_type] * directions)
             and "clip" not in attrs and not ("input_forget" in attrs and attrs["input_forget"].i)
             and not ("layout" in attrs and attrs["layout"].i))
    inputs = list(node.input) + [""] * 8
    weights = [index.constant(name) if name else None for name in inputs[1:4]]
    if not plain or inputs[4] or inputs[7] or weights[0] is None or weights[1] is None \
            or (inputs[3] and weights[2] is None):
        return None
    shape = index.shape(node.input[0])
    return shape[0] if shape and len(shape) == 3 and shape[0] and shape[0] <= MAX_STEPS else None


def _direction(attrs: dict[str, Any]) -> str:
    return attrs["direction"].s.decode() if "direction" in attrs else "forward"


class _Unroller:
    def __init__(self, node: Any, index: GraphIndex, steps: int) -> None:
        attrs = {a.name: a for a in node.attribute}
        self.node, self.steps, self.kind = node, steps, node.op_type
        self.hidden = attrs["hidden_size"].i
        self.direction = _direction(attrs)
        self.reset_after = bool("linear_before_reset" in attrs and attrs["linear_before_reset"].i)
        inputs = list(node.input) + [""] * 8
        self.w, self.r = index.constant(inputs[1]), index.constant(inputs[2])
        gates = GATES[self.kind] * self.hidden
        self.b = index.constant(inputs[3]) if inputs[3] else np.zeros((self.w.shape[0], 2 * gates), np.float32)
        self.h0, self.c0 = inputs[5], inputs[6]
        self.prefix = f"{node.name or self.kind}_t2tf_unrolled"
        self.out: list[Any] = []
        self.initializers: list[Any] = []

    def nodes(self, graph: Any) -> list[Any]:
        from onnx import helper

        paired_bytes = 4 * (2 * self.hidden) * (2 * GATES[self.kind] * self.hidden)
        if self.direction == "bidirectional" and paired_bytes <= MAX_PAIRED_WEIGHT_BYTES:
            results = [self._both_directions()]
        else:
            directions = ["forward", "reverse"] if self.direction == "bidirectional" else [self.direction]
            results = [self._direction(d, reverse) for d, reverse in enumerate(r == "reverse" for r in directions)]
        outputs = list(self.node.output) + ["", "", ""]
        for slot, name in enumerate(outputs[:3 if self.kind == "LSTM" else 2]):
            if not name:
                continue
            parts = [result[slot] for result in results]
            if len(parts) == 1:
                self.out.append(helper.make_node("Identity", parts, [name]))
            else:
                self.out.append(helper.make_node("Concat", parts, [name], axis=1 if slot == 0 else 0))
        graph.initializer.extend(self.initializers)
        return self.out

    def _const(self, suffix: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = f"{self.prefix}_{suffix}"
        value = np.asarray(value)
        value = value.astype(np.int64) if value.dtype.kind in "iu" else value.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def _op(self, op_type: str, inputs: list[str], suffix: str, outputs: int = 1, **attrs) -> list[str]:
        from onnx import helper

        names = [f"{self.prefix}_{suffix}" + (f"_{k}" if outputs > 1 else "") for k in range(outputs)]
        self.out.append(helper.make_node(op_type, inputs, names, **attrs))
        return names

    def _biases(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Direction ``d``'s bias added to the input projection, and the one left on the state's side."""
        size, gates = self.hidden, GATES[self.kind] * self.hidden
        bw, br = self.b[d][:gates], self.b[d][gates:]
        if self.kind == "GRU" and self.reset_after:  # R_bh stays inside r ⊙ (h·R_h + R_bh)
            return (np.concatenate([bw[:2 * size] + br[:2 * size], bw[2 * size:]]),
                    np.concatenate([np.zeros(2 * size, np.float32), br[2 * size:]]))
        return bw + br, np.zeros(gates, np.float32)

    def _both_directions(self) -> tuple[str, ...]:
        """Y, Y_h (and Y_c) of a small bidirectional node as one sequence over the state [h_fwd | h_back]:
        step s is the forward direction's step s and the backward one's step T-1-s, each operator doing both
        (block-diagonal weights, each gate's columns as [forward | backward]): half the operators. Each stays
        one row: the two directions as two rows (a BATCH_MATMUL over [2, B, H]) were faster on one thread
        but woke XNNPACK's second thread for every operator, slower at 2 threads."""
        size, steps, gates = self.hidden, self.steps, GATES[self.kind]
        rev = self._const("rev", np.arange(steps - 1, -1, -1))
        x = self.node.input[0]
        both = self._op("Concat", [x, self._op("Gather", [x, rev], "xrev", axis=0)[0]], "xx", axis=2)[0]
        biases = [self._biases(d) for d in (0, 1)]
        projected = self._op("MatMul", [both, self._const("wt", _paired([w.T for w in self.w], gates, size))], "xw")[0]
        input_bias, state_bias = (_paired([b[k][None] for b in biases], gates, size).sum(axis=0) for k in (0, 1))
        projected = self._op("Add", [projected, self._const("xb", input_bias)], "x")[0]
        shared = self._shared(_paired([r.T for r in self.r], gates, size).T, state_bias, "dd", 2 * size)
        pair = self._const("pair", np.array([-1, 2 * size], np.int64))
        state = self._op("Reshape", [self._op("Transpose", [self.h0], "h0t", perm=[1, 0, 2])[0], pair], "h0")[0]
        cell = (self._op("Reshape", [self._op("Transpose", [self.c0], "c0t", perm=[1, 0, 2])[0], pair], "c0")[0]
                if self.kind == "LSTM" else None)
        states, state, cell = self._steps(projected, range(steps), state, cell, shared, "dd")
        grid = self._op("Reshape", [self._op("Concat", [states[t] for t in range(steps)], "ys", axis=0)[0],
                                    self._const("grid", np.array([steps, -1, 2, size], np.int64))], "ygrid")[0]
        forward, backward = self._op("Split", [grid, self._const("halves", np.array([1, 1], np.int64))], "yd",
                                     outputs=2, axis=2)
        backward = self._op("Gather", [backward, rev], "yb", axis=0)[0]  # step s held the backward's T-1-s
        y = self._op("Transpose", [self._op("Concat", [forward, backward], "yc", axis=2)[0]], "y", perm=[0, 2, 1, 3])
        last = self._const("last", np.array([-1, 2, size], np.int64))
        results = [y[0]]
        for end, name in ((state, "yh"), (cell, "ycell")):
            if end is not None:  # [B, 2H] → [2, B, H]
                split = self._op("Reshape", [end, last], f"{name}r")[0]
                results.append(self._op("Transpose", [split], name, perm=[1, 0, 2])[0])
        return tuple(results)

    def _direction(self, d: int, reverse: bool) -> tuple[str, ...]:
        """Y ([T, 1, B, H]), Y_h and, for an LSTM, Y_c ([1, B, H]) of direction ``d``."""
        size = self.hidden
        w, r = self.w[d], self.r[d]
        input_bias, state_bias = self._biases(d)
        p = f"d{d}"
        projected = self._op("MatMul", [self.node.input[0], self._const(f"{p}_wt", w.T.copy())], f"{p}_xw")[0]
        projected = self._op("Add", [projected, self._const(f"{p}_xb", input_bias)], f"{p}_x")[0]
        state = self._op("Gather", [self.h0, self._const(f"{p}_dir", np.array(d, np.int64))], f"{p}_h0", axis=0)[0]
        cell = (self._op("Gather", [self.c0, self._const(f"{p}_cdir", np.array(d, np.int64))], f"{p}_c0", axis=0)[0]
                if self.kind == "LSTM" else None)
        shared = self._shared(r, state_bias, p, size)
        order = range(self.steps - 1, -1, -1) if reverse else range(self.steps)
        states, state, cell = self._steps(projected, order, state, cell, shared, p)
        stacked = self._op("Concat", [states[t] for t in range(self.steps)], f"{p}_ys", axis=0)[0]
        shape = self._const(f"{p}_yshape", np.array([self.steps, 1, -1, size], np.int64))
        last = self._const(f"{p}_lshape", np.array([1, -1, size], np.int64))
        results = [self._op("Reshape", [stacked, shape], f"{p}_y")[0], self._op("Reshape", [state, last], f"{p}_yh")[0]]
        if cell is not None:
            results.append(self._op("Reshape", [cell, last], f"{p}_yc")[0])
        return tuple(results)

    def _steps(self, projected: str, order, state: str, cell: str | None, shared: dict[str, str],
               p: str) -> tuple[dict[int, str], str, str | None]:
        """The steps in ``order``, each reading its row of ``projected``: every step's state by time
        step, and the last state and cell."""
        states = {}
        for t in order:
            x_t = self._op("Gather", [projected, self._const(f"{p}_t{t}", np.array(t, np.int64))], f"{p}_x{t}",
                           axis=0)[0]
            if self.kind == "LSTM":
                state, cell = self._lstm_step(x_t, state, cell, shared, f"{p}_s{t}")
            else:
                state = self._gru_step(x_t, state, shared, f"{p}_s{t}")
            states[t] = state
        return states, state, cell

    def _shared(self, r: np.ndarray, state_bias: np.ndarray, p: str, size: int) -> dict[str, str]:
        """The constants every step reads (the state's weights transposed for MatMul; ``size``: the state's)."""
        rt = np.ascontiguousarray(r.T)
        if self.kind == "LSTM":
            return {"r": self._const(f"{p}_r", rt), "gates": self._const(f"{p}_split", np.array([3 * size, size])),
                    "iof": self._const(f"{p}_split3", np.array([size] * 3))}
        shared = {"halves": self._const(f"{p}_split", np.array([2 * size, size])),
                  "zr": self._const(f"{p}_split2", np.array([size, size]))}
        if self.reset_after:
            shared.update(r=self._const(f"{p}_r", rt), rb=self._const(f"{p}_rb", state_bias))
        else:
            shared.update(r=self._const(f"{p}_r", np.ascontiguousarray(rt[:, :2 * size])),
                          rh=self._const(f"{p}_rh_w", np.ascontiguousarray(rt[:, 2 * size:])))
        return shared

    def _lstm_step(self, x_t: str, h: str, c: str, k: dict[str, str], p: str) -> tuple[str, str]:
        recurrent = self._op("MatMul", [h, k["r"]], f"{p}_hr")[0]
        total = self._op("Add", [x_t, recurrent], f"{p}_g")[0]
        iof, candidate = self._op("Split", [total, k["gates"]], f"{p}_parts", outputs=2, axis=1)
        iof = self._op("Sigmoid", [iof], f"{p}_iof")[0]
        i, o, f = self._op("Split", [iof, k["iof"]], f"{p}_iof3", outputs=3, axis=1)
        candidate = self._op("Tanh", [candidate], f"{p}_cand")[0]
        kept = self._op("Mul", [f, c], f"{p}_fc")[0]
        added = self._op("Mul", [i, candidate], f"{p}_ic")[0]
        c = self._op("Add", [kept, added], f"{p}_c")[0]
        h = self._op("Mul", [o, self._op("Tanh", [c], f"{p}_tc")[0]], f"{p}_h")[0]
        return h, c

    def _gru_step(self, x_t: str, h: str, k: dict[str, str], p: str) -> str:
        x_zr, x_h = self._op("Split", [x_t, k["halves"]], f"{p}_x", outputs=2, axis=1)
        if self.reset_after:
            recurrent = self._op("Add", [self._op("MatMul", [h, k["r"]], f"{p}_hrw")[0], k["rb"]], f"{p}_hr")[0]
            h_zr, h_h = self._op("Split", [recurrent, k["halves"]], f"{p}_hparts", outputs=2, axis=1)
        else:
            h_zr = self._op("MatMul", [h, k["r"]], f"{p}_hr")[0]
        zr = self._op("Sigmoid", [self._op("Add", [x_zr, h_zr], f"{p}_zr_in")[0]], f"{p}_zr")[0]
        z, reset = self._op("Split", [zr, k["zr"]], f"{p}_z", outputs=2, axis=1)
        if self.reset_after:
            gated = self._op("Mul", [reset, h_h], f"{p}_rh")[0]
        else:
            reset_h = self._op("Mul", [reset, h], f"{p}_rh_in")[0]
            gated = self._op("MatMul", [reset_h, k["rh"]], f"{p}_rh")[0]
        candidate = self._op("Tanh", [self._op("Add", [x_h, gated], f"{p}_n_in")[0]], f"{p}_n")[0]
        # h' = (1 - z) ⊙ n + z ⊙ h = n + z ⊙ (h - n)
        delta = self._op("Sub", [h, candidate], f"{p}_dh")[0]
        return self._op("Add", [candidate, self._op("Mul", [z, delta], f"{p}_zdh")[0]], f"{p}_h")[0]


def _paired(parts: list[np.ndarray], gates: int, size: int) -> np.ndarray:
    """Block-diagonal weights for both directions: the rows of ``parts[d]`` ([K, gates·size], gate-major
    columns) feed gate g's columns (2g + d)·size … (2g + d + 1)·size of the result."""
    rows = sum(part.shape[0] for part in parts)
    out = np.zeros((rows, 2 * gates * size), np.float32)
    top = 0
    for d, part in enumerate(parts):
        for g in range(gates):
            out[top:top + part.shape[0], (2 * g + d) * size:(2 * g + d + 1) * size] = part[:, g * size:(g + 1) * size]
        top += part.shape[0]
    return out


# after lstm_initial_states: the initial states are inputs of the node by then
REWRITES = (Rewrite('recurrent', SPEED, unroll_recurrent, after=('lstm_initial_states',)),)
