"""The rewrite registry: the order comes from each rewrite's declarations, and adding one is one module."""
from __future__ import annotations

import pytest

from torch2tf.conversion import rewrites
from torch2tf.conversion.rewrites import registry
from torch2tf.conversion.rewrites.registry import FIX, FLOAT, FULL_INTEGER, INT8, SPEED, Rewrite, ordered, rewrites_for
from torch2tf.errors import InternalError

FLOAT_ORDER = ["global_pool", "group_norm", "index_grid", "broadcast_concat", "expand_elision", "bool_expand",
               "large_depthwise", "legacy_softmax", "gelu", "lstm_initial_states", "names", "nonnegative_pool",
               "hard_sigmoids", "patch_upsampling", "recurrent", "strided_views", "symbolic_reshape", "trimmed_padding",
               "dynamic_slice"]


def test_the_order_honours_every_declaration():
    for graph in (FLOAT, FULL_INTEGER):
        names = [r.name for r in rewrites_for(graph)]
        for position, rewrite in enumerate(rewrites_for(graph)):
            assert all(names.index(before) < position for before in rewrite.after if before in names), rewrite


def test_the_derived_order():
    assert [r.name for r in rewrites_for(FLOAT)] == FLOAT_ORDER
    assert [r.name for r in rewrites_for(FULL_INTEGER)] == ["hard_activations_int8", "scale_folding", "strided_stems"]
    # keep-layout strategies keep the plain stem (onnx2tf lowers SpaceToDepth channel-last)
    assert "strided_stems" not in [r.name for r in rewrites_for(FULL_INTEGER, keep_input_layout=True)]


def test_each_record_sits_in_the_folder_of_its_purpose():
    folders = {"fixes": {FIX}, "speed": {SPEED, INT8}, "int8": {INT8}}
    for rewrite in registry.registered():
        folder = rewrite.apply.__module__.split(".")[-2]
        assert rewrite.purpose in folders[folder], rewrite
        assert (rewrite.graph == FULL_INTEGER) == (rewrite.purpose == INT8), rewrite


def test_adding_a_rewrite_is_one_module_with_one_record(tmp_path, monkeypatch):
    (tmp_path / "late_identity.py").write_text(
        "from torch2tf.conversion.rewrites.registry import FIX, Rewrite\n\n"
        "def drop_nothing(model, index=None):\n    return ''\n\n"
        "REWRITES = (Rewrite('late_identity', FIX, drop_nothing, after=('names',)),)\n")
    from torch2tf.conversion.rewrites import fixes

    monkeypatch.setattr(fixes, "__path__", [*fixes.__path__, str(tmp_path)])
    registry.registered.cache_clear()
    try:
        names = [r.name for r in rewrites_for(FLOAT)]
        assert "late_identity" in names and names.index("late_identity") > names.index("names")
    finally:
        monkeypatch.undo()
        registry.registered.cache_clear()
    assert "late_identity" not in [r.name for r in rewrites_for(FLOAT)]


def _noop(model, index=None) -> str:
    return ""


@pytest.mark.parametrize("declared, message", [
    ((Rewrite("a", FIX, _noop, after=("b",)), Rewrite("b", FIX, _noop, after=("a",))), "wait on each other"),
    ((Rewrite("a", FIX, _noop, after=("no_such_rewrite",)),), "unknown rewrites"),
])
def test_a_bad_declaration_is_an_internal_error(declared, message):
    with pytest.raises(InternalError, match=message):
        ordered(declared)


def test_rewrites_share_one_graph_index_until_one_changes_the_graph(monkeypatch):
    """Shape inference runs once for rewrites that change nothing, again only after one that does."""
    import onnx
    from onnx import TensorProto, helper

    built = []
    original = rewrites.GraphIndex
    monkeypatch.setattr(rewrites, "GraphIndex", lambda model: built.append(1) or original(model))
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])

    def add_identity(model, index=None) -> str:
        model.graph.node.append(helper.make_node("Identity", ["y"], ["z"]))
        return "added an Identity"

    changing = (Rewrite("first", FIX, _noop), Rewrite("second", FIX, add_identity), Rewrite("third", FIX, _noop),
                Rewrite("fourth", FIX, _noop))
    notes = rewrites.run_rewrites(model, changing)
    assert len(built) == 2  # before "first", and after "second" changed the graph
    assert [(n.rewrite, n.purpose, n.detail) for n in notes] == [("second", FIX, "added an Identity")]
    onnx.checker.check_model(model)
    built.clear()
    rewrites.run_rewrites(model, rewrites_for(FLOAT))
    assert len(built) == 1  # a Relu graph: no rewrite changes it, one index for all fourteen
