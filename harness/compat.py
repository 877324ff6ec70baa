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


@functools.cache
def format_configs_once() -> None:
    """Let mmengine format each config text with yapf once, not every time it is asked for it.

    ``Config.pretty_text`` runs yapf over the whole config on every access, and a Runner asks
    at least four times for the same config: its log, the message hub's metadata, the dumped
    config and each checkpoint's metadata (0.15-0.3 s each for a harness config on 2 cores,
    measured: 1.9 s of a 19 s detection smoke test). The same text with the same style gives
    the same code, so the formatted code of the last few texts is kept. The style dict
    mmengine passes is made hashable on the way in."""
    import mmengine.config.config as config_module

    original = config_module.FormatCode

    @functools.lru_cache(maxsize=8)
    def formatted(text, style, options):
        return original(text, style_config=dict(style), **dict(options))

    @functools.wraps(original)
    def format_code(text, style_config=None, **kwargs):
        if not isinstance(style_config, dict):  # a style file or name: passed on as it is
            return original(text, style_config=style_config, **kwargs)
        return formatted(text, tuple(sorted(style_config.items())), tuple(sorted(kwargs.items())))

    config_module.FormatCode = format_code
