"""ONNX graph rewrites applied before onnx2tf, one module per onnx2tf bug they work around.

They change only the copy handed to onnx2tf; onnxruntime keeps running the exported model, so
the parity check also proves each rewrite preserved what the graph computes.
"""
from __future__ import annotations

from pathlib import Path

from torch2tf.convert.rewrites.bool_expand import expand_bools_as_int
from torch2tf.convert.rewrites.broadcast_concat import pad_broadcast_concats
from torch2tf.convert.rewrites.expand_elision import elide_broadcast_expands
from torch2tf.convert.rewrites.gelu import fuse_gelu
from torch2tf.convert.rewrites.global_pool import globalize_whole_input_pools
from torch2tf.convert.rewrites.group_norm import flatten_group_norms
from torch2tf.convert.rewrites.hard_activations import spell_out_hard_activations, spell_out_hard_sigmoids
from torch2tf.convert.rewrites.index_grid import flatten_index_grids
from torch2tf.convert.rewrites.large_depthwise import tile_large_depthwise
from torch2tf.convert.rewrites.legacy_softmax import spell_out_legacy_softmax
from torch2tf.convert.rewrites.lstm_initial_states import add_lstm_initial_states
from torch2tf.convert.rewrites.names import rename_for_tensorflow
from torch2tf.convert.rewrites.nonnegative_pool import zero_pad_nonnegative_pools
from torch2tf.convert.rewrites.recurrent import unroll_recurrent
from torch2tf.convert.rewrites.scale_folding import fold_scalar_muls
from torch2tf.convert.rewrites.space_to_depth import fold_strided_stems

REWRITES = (spell_out_legacy_softmax, add_lstm_initial_states, unroll_recurrent, fuse_gelu, flatten_index_grids,
            pad_broadcast_concats, elide_broadcast_expands, expand_bools_as_int, globalize_whole_input_pools,
            zero_pad_nonnegative_pools, spell_out_hard_sigmoids, flatten_group_norms, tile_large_depthwise,
            rename_for_tensorflow)


# Only for the full-integer int8 conversion (its kernels differ from the float ones).
INT8_REWRITES = (spell_out_hard_activations, fold_scalar_muls, fold_strided_stems)


def int8_rewrites(keep_input_layout: bool) -> tuple:
    """INT8_REWRITES for a strategy. onnx2tf lowers a SpaceToDepth channel-last, so where the input keeps its
    [N, C, H, W] layout (keep-layout) a stem folded into one reads it as [N, H, W, C] and the whole int8
    conversion fails: those strategies keep the plain stem."""
    return tuple(r for r in INT8_REWRITES if not (keep_input_layout and r is fold_strided_stems))


def apply_rewrites(path: Path, rewrites: tuple | None = None) -> list[str]:
    """Rewrite the ONNX file at ``path`` in place (``rewrites``: REWRITES as it is at call time);
    return a line per rewrite that changed something."""
    import onnx

    model = onnx.load(str(path))
    notes = []
    for rewrite in REWRITES if rewrites is None else rewrites:
        note = rewrite(model)
        if note:
            notes.append(note)
    if notes:
        data = path.with_name(path.name + ".data")
        external = data.exists()
        data.unlink(missing_ok=True)
        onnx.save(model, str(path), save_as_external_data=external, location=data.name if external else None)
    return notes
