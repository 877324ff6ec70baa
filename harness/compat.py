"""Compatibility shims, each with the fact that needs it (DESIGN.md §6)."""
from __future__ import annotations

import functools


@functools.cache
def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` (the default since torch 2.6) read mmengine's
    resume checkpoints, which store mmengine's own objects in their message hub. The classes
    are allow-listed; weights_only stays on."""
    import numpy as np
    import torch
    from mmengine.logging import HistoryBuffer

    torch.serialization.add_safe_globals([
        HistoryBuffer,
        np.core.multiarray._reconstruct, np.ndarray, np.dtype,
        type(np.dtype(np.float64)), type(np.dtype(np.int64)), type(np.dtype(np.float32)),
        np.core.multiarray.scalar,
    ])
