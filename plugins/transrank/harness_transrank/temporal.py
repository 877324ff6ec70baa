"""Temporal transformations of a clip, as frame indices (pure functions of their arguments).

Used by the transformation-recognition methods (TransRank, SpeedNet, AoT, RTT, Pace; see
docs/methods.md §1). Every function returns ``frames`` indices into a video of ``num_frames``
frames; indices past the end loop (looping padding), so short videos still give full clips.

- ``speed``: every ``speed * u``-th frame (u: speed jitter, e.g. U(0.8, 1.2)), rounded.
- ``reverse``: a 1x clip played backwards.
- ``periodic``: forward then backward over a segment of ``p`` frames, repeated (a triangle
  wave), p drawn in [2, frames // 2 + 1]; RTT's "periodic".
- ``random``: a 1x clip with its frames shuffled; RTT's "random".
- ``warp``: cumulative sum of per-frame skips drawn in [1, max_skip]; RTT's "warp".
"""
from __future__ import annotations

import numpy as np

#: name -> (kind, speed): the transformations a config can list by name.
TEMPORAL = {
    '0.5x': ('speed', 0.5), '1x': ('speed', 1.0), '2x': ('speed', 2.0), '3x': ('speed', 3.0),
    '4x': ('speed', 4.0), '5x': ('speed', 5.0), '8x': ('speed', 8.0), 'reverse': ('reverse', 1.0), 'periodic': ('periodic', 1.0),
    'random': ('random', 1.0), 'warp': ('warp', 1.0),
}


def speed_indices(num_frames: int, frames: int, speed: float, start: int) -> np.ndarray:
    """``frames`` indices every ``speed`` frames from ``start`` (rounded, looping)."""
    offsets = np.round(np.arange(frames) * speed).astype(np.int64)
    return (start + offsets) % num_frames


def periodic_indices(num_frames: int, frames: int, period: int, start: int) -> np.ndarray:
    """Forward over ``period`` frames, then backward, repeated: 0 1 2 1 0 1 2 ... (+start)."""
    if period < 2:
        raise ValueError('a periodic clip needs a period of at least 2 frames')
    cycle = 2 * (period - 1)
    position = np.arange(frames) % cycle
    offsets = np.where(position < period, position, cycle - position)
    return (start + offsets) % num_frames


def warp_indices(num_frames: int, frames: int, skips: np.ndarray, start: int) -> np.ndarray:
    """Start, then advance by ``skips[i]`` frames before frame i + 1 (cumulative sum)."""
    offsets = np.concatenate([[0], np.cumsum(skips[:frames - 1])]).astype(np.int64)
    return (start + offsets) % num_frames


def span_of(name: str, frames: int, jitter_high: float = 1.0, max_skip: int = 4) -> int:
    """Frames of the video a transformation may cover (to place its start inside the video)."""
    kind, speed = TEMPORAL[name]
    if kind == 'speed':
        return int(np.ceil((frames - 1) * speed * jitter_high)) + 1
    if kind == 'warp':
        return (frames - 1) * max_skip + 1
    return frames


def transform_indices(name: str, num_frames: int, frames: int, rng: np.random.Generator, *,
                      jitter: tuple[float, float] = (1.0, 1.0), max_skip: int = 4
                      ) -> np.ndarray:
    """Indices of a clip of ``frames`` frames under transformation ``name`` (see TEMPORAL),
    placed at a random start where it fits."""
    if name not in TEMPORAL:
        raise ValueError(f"unknown temporal transformation '{name}'; known: "
                         f"{', '.join(TEMPORAL)}")
    kind, speed = TEMPORAL[name]
    span = span_of(name, frames, jitter[1], max_skip)
    start = int(rng.integers(0, num_frames - span + 1)) if num_frames >= span else 0
    if kind == 'speed':
        return speed_indices(num_frames, frames, speed * rng.uniform(*jitter), start)
    if kind == 'reverse':
        return speed_indices(num_frames, frames, 1.0, start)[::-1].copy()
    if kind == 'periodic':
        period = int(rng.integers(2, frames // 2 + 2))
        return periodic_indices(num_frames, frames, period, start)
    if kind == 'random':
        return rng.permutation(speed_indices(num_frames, frames, 1.0, start))
    skips = rng.integers(1, max_skip + 1, size=frames - 1)
    return warp_indices(num_frames, frames, skips, start)
