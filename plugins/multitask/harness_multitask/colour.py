"""Colorization targets (Zhang, Isola, Efros 2016, as Multi-task SSL uses them; docs/methods.md
§6): the network sees the L channel and predicts, per pixel, a distribution over quantised ab
values. The bins are the points of a ``grid``-unit ab grid (multiples of 10 from -110 to 110
for grid 10) that are the nearest point of some sRGB colour (the in-gamut bins: 313 in Zhang's
paper; computed here from OpenCV's Lab conversion of an sRGB cube, so the count is what that
conversion gives); a pixel's target is its nearest bin (hard encoding)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

AB_RANGE = 110.0  # |a|, |b| of sRGB colours stay below this


def lab(rgb: np.ndarray) -> np.ndarray:
    """float32 CIE Lab (L 0-100, a and b about -110..110) of uint8 RGB ``[..., 3]``."""
    import cv2

    rgb = np.asarray(rgb, dtype=np.uint8)
    flat = rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape).astype(np.float32)


def cells_per_axis(grid: float) -> int:
    """Grid points along a or b: the multiples of ``grid`` from -AB_RANGE to AB_RANGE."""
    return int(round(2 * AB_RANGE / grid)) + 1


def cell_of(ab: np.ndarray, grid: float) -> np.ndarray:
    """The index of the grid point (a multiple of ``grid`` in a and in b, Zhang's bin centres)
    nearest each ab value ``[..., 2]`` (row-major: a-index * points + b-index)."""
    points = cells_per_axis(grid)
    index = np.clip(np.rint((np.asarray(ab) + AB_RANGE) / grid), 0, points - 1).astype(np.int64)
    return index[..., 0] * points + index[..., 1]


@lru_cache(maxsize=4)
def ab_bins(grid: float = 10.0, step: int = 2) -> np.ndarray:
    """The in-gamut grid cells, sorted: ``[Q]`` cell indices hit by the sRGB colours of a cube
    sampled every ``step`` levels per channel."""
    levels = np.arange(0, 256, step, dtype=np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing='ij'), axis=-1)
    return np.unique(cell_of(lab(cube)[..., 1:], grid))


def ab_targets(rgb: np.ndarray, grid: float = 10.0) -> np.ndarray:
    """Per-pixel bin indices (into :func:`ab_bins`) of an RGB image ``[H, W, 3]``: int64
    ``[H, W]``; a colour whose cell the cube sampling missed gets its nearest bin's index."""
    bins = ab_bins(grid)
    cells = cell_of(lab(rgb)[..., 1:], grid)
    position = np.clip(np.searchsorted(bins, cells), 0, len(bins) - 1)
    exact = bins[position] == cells
    if not exact.all():  # rare edge colours: the nearest in-gamut cell by centre distance
        width = cells_per_axis(grid)
        centres = np.stack([bins // width, bins % width], axis=1).astype(np.float64)
        missed = np.stack([cells[~exact] // width, cells[~exact] % width], axis=1)
        nearest = np.argmin(((missed[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        position[~exact] = nearest
    return position.astype(np.int64)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """The L channel of uint8 RGB ``[H, W, 3]`` as a grey image: uint8 ``[H, W]``, L (0-100)
    scaled to 0-255. This is what the colorization task's network sees."""
    return np.clip(np.rint(lab(rgb)[..., 0] * 2.55), 0, 255).astype(np.uint8)


def chroma(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel chroma ``sqrt(a² + b²)`` of uint8 RGB ``[..., 3]`` (0 for grey)."""
    ab = lab(rgb)[..., 1:]
    return np.sqrt((ab ** 2).sum(-1))


def bin_targets(rgb: np.ndarray, size: int, grid: float = 10.0) -> np.ndarray:
    """The ab-bin target of each cell of a ``size`` x ``size`` grid over the RGB crop
    ``[H, W, 3]``: the crop is shrunk to the grid by area averaging (OpenCV ``INTER_AREA``),
    then each pixel binned (:func:`ab_targets`). int64 ``[size, size]``."""
    import cv2

    small = cv2.resize(np.ascontiguousarray(rgb), (size, size), interpolation=cv2.INTER_AREA)
    return ab_targets(small, grid)
