"""Compatibility shims, each with the fact that needs it (docs/design.md §6)."""
from __future__ import annotations

import copyreg
import functools


def rebuild_history_buffer(log_history: list, count_history: list, max_length: int):
    """Rebuild an mmengine HistoryBuffer from plain lists (see :func:`allow_mmengine_checkpoints`)."""
    from mmengine.logging import HistoryBuffer

    return HistoryBuffer(log_history, count_history, max_length)


def _reduce_history_buffer(buffer):
    return rebuild_history_buffer, (buffer._log_history.tolist(),
                                    buffer._count_history.tolist(), buffer.max_length)


@functools.cache
def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` (the default since torch 2.6) read the resume
    checkpoints mmengine writes, without switching weights_only off.

    mmengine pickles its message hub's HistoryBuffers together with their statistics methods,
    which unpickle through ``getattr``; allow-listing ``getattr`` would defeat weights_only. So
    the harness pickles a HistoryBuffer as plain lists rebuilt by
    :func:`rebuild_history_buffer` (the default statistics are restored on construction), and
    allow-lists that function and the numpy types the hub holds.
    """
    import numpy as np
    import torch
    from mmengine.logging import HistoryBuffer

    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    torch.serialization.add_safe_globals([
        rebuild_history_buffer, multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
        *{type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)},
    ])
