"""Video decoding (decord). One place opens videos, so tests can count the opens."""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: the widest step between two wanted frames that :func:`read_frames` decodes through (the
#: frames between decoded and dropped) instead of seeking
MAX_GAP = 16


def open_video(path: str):
    """A decord VideoReader on ``path`` (CPU, RGB)."""
    import decord

    return decord.VideoReader(path, num_threads=1)


def read_frames(reader, indices: Sequence[int]) -> np.ndarray:
    """Decode the given frame indices: ``uint8 [len(indices), H, W, 3]``, in their order.

    decord seeks for every index that does not follow the one before it (back to the key frame
    before it, then decodes up to it), so a clip of every other frame costs a seek per frame.
    Here wanted frames at most :data:`MAX_GAP` apart are decoded as one stretch, with a seek
    only to its first frame, and the frames between them are dropped: the same frames (decord
    decodes exactly), several times faster for strided clips (``benchmarks/video_decode.py``).
    """
    wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
    if wanted.size == 0:
        return reader.get_batch([]).asnumpy()
    unique = np.unique(wanted)
    pieces = []
    for run in np.split(unique, np.flatnonzero(np.diff(unique) > MAX_GAP) + 1):
        decoded = reader.get_batch(list(range(int(run[0]), int(run[-1]) + 1))).asnumpy()
        pieces.append(decoded if len(decoded) == len(run) else decoded[run - run[0]])
    frames = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    if len(unique) == len(wanted) and (unique == wanted).all():
        return frames
    return frames[np.searchsorted(unique, wanted)]
