"""Relative position's patch geometry (Doersch, Gupta, Efros 2015, as Multi-task SSL trains it;
docs/methods.md §6): a 3 x 3 grid of ``patch`` x ``patch`` cells with ``gap`` pixels between
neighbouring cells is laid at a random place in the frame; the centre cell and one of its 8
neighbours (the label, :data:`~harness_multitask.losses.NEIGHBOURS`) are cut out, each moved
by its own random jitter of up to ``jitter`` pixels in each direction. The gap and the jitter
keep the network from solving the task by continuing lines or textures across the border.
Pure functions of the sizes and a numpy generator; positions are (top, left) in pixels.
"""
from __future__ import annotations

import numpy as np

from harness_multitask.losses import NEIGHBOURS


def grid_extent(patch: int, gap: int, jitter: int) -> int:
    """Side of the square the jittered grid needs: 3 cells, 2 gaps and the jitter margin on
    both sides."""
    return 3 * patch + 2 * gap + 2 * jitter


def neighbour_offset(label: int, patch: int, gap: int) -> tuple[int, int]:
    """(rows, columns) from the centre cell's top-left corner to the top-left corner of the
    neighbour ``label`` (before jitter): the neighbour's grid offset times the cell pitch
    ``patch + gap``."""
    row, column = NEIGHBOURS[label]
    pitch = patch + gap
    return row * pitch, column * pitch


def sample_pair(height: int, width: int, patch: int, gap: int, jitter: int,
                rng: np.random.Generator) -> tuple[tuple[int, int], tuple[int, int], int]:
    """One relative-position example in a ``height`` x ``width`` frame: ``(centre, neighbour,
    label)`` with ``centre`` and ``neighbour`` the (top, left) corners of the two patches
    (both inside the frame) and ``label`` in 0..7, the neighbour's place around the centre
    (:data:`~harness_multitask.losses.NEIGHBOURS`)."""
    extent = grid_extent(patch, gap, jitter)
    if min(height, width) < extent:
        raise ValueError(f'a {patch}-pixel patch grid with gap {gap} and jitter {jitter} needs '
                         f'{extent} x {extent} pixels; the frame is {height} x {width}')
    top = int(rng.integers(0, height - extent + 1)) + jitter + patch + gap
    left = int(rng.integers(0, width - extent + 1)) + jitter + patch + gap
    label = int(rng.integers(0, len(NEIGHBOURS)))
    d_row, d_col = neighbour_offset(label, patch, gap)
    shifts = rng.integers(-jitter, jitter + 1, size=(2, 2)) if jitter > 0 else \
        np.zeros((2, 2), dtype=np.int64)
    centre = (top + int(shifts[0, 0]), left + int(shifts[0, 1]))
    neighbour = (top + d_row + int(shifts[1, 0]), left + d_col + int(shifts[1, 1]))
    return centre, neighbour, label


def cut(frame: np.ndarray, corner: tuple[int, int], patch: int) -> np.ndarray:
    """The ``patch`` x ``patch`` square of ``frame [H, W, ...]`` at ``corner`` (top, left)."""
    top, left = corner
    if top < 0 or left < 0 or top + patch > frame.shape[0] or left + patch > frame.shape[1]:
        raise ValueError(f'patch at {corner} of side {patch} leaves the {frame.shape[:2]} frame')
    return frame[top:top + patch, left:left + patch]
