"""Video decoding (decord). One place opens videos, so tests can count the opens."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def open_video(path: str):
    """A decord VideoReader on ``path`` (CPU, RGB)."""
    import decord

    return decord.VideoReader(path, num_threads=1)


def read_frames(reader, indices: Sequence[int]) -> np.ndarray:
    """Decode the given frame indices once each: ``uint8 [len(indices), H, W, 3]``."""
    return reader.get_batch(list(indices)).asnumpy()
