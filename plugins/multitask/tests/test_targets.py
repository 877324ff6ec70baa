"""Multi-task SSL's examples and targets against hand-computed values: relative position's patch
grid, the L input and ab-bin targets, and the moving-pixel masks."""
from __future__ import annotations

import numpy as np
import pytest

from harness_multitask.colour import ab_bins, bin_targets, cell_of, lightness
from harness_multitask.losses import IGNORE_INDEX, NEIGHBOURS
from harness_multitask.motion import moving_pixels, shrink_mask
from harness_multitask.patches import cut, grid_extent, neighbour_offset, sample_pair
from harness_multitask.sampling import ColorizationSpec, colorization_example


def test_grid_without_jitter_by_hand():
    """Patches of 2, gaps of 1, no jitter: the grid is exactly 3 * 2 + 2 * 1 = 8 pixels, so in
    an 8 x 8 frame it starts at 0, the centre cell at (3, 3) and neighbour k at
    (3 + 3 * row_k, 3 + 3 * col_k): label 0 (up-left) at (0, 0), label 7 at (6, 6)."""
    assert grid_extent(2, 1, 0) == 8
    assert neighbour_offset(0, 2, 1) == (-3, -3) and neighbour_offset(4, 2, 1) == (0, 3)
    frame = (10 * np.arange(8)[:, None] + np.arange(8)[None, :])  # pixel = 10 * row + col
    seen = set()
    for seed in range(40):
        centre, neighbour, label = sample_pair(8, 8, 2, 1, 0, np.random.default_rng(seed))
        row, col = NEIGHBOURS[label]
        assert centre == (3, 3) and neighbour == (3 + 3 * row, 3 + 3 * col)
        seen.add(label)
    assert seen == set(range(8))
    assert cut(frame, (3, 3), 2).tolist() == [[33, 34], [43, 44]]
    assert cut(frame, (6, 6), 2).tolist() == [[66, 67], [76, 77]]
    with pytest.raises(ValueError, match='needs 8 x 8'):
        sample_pair(7, 8, 2, 1, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match='leaves'):
        cut(frame, (7, 0), 2)


def test_jittered_patches_stay_in_the_frame_and_within_the_jitter_of_the_grid():
    patch, gap, jitter = 5, 3, 2
    pitch = patch + gap
    size = grid_extent(patch, gap, jitter)  # 3 * 5 + 2 * 3 + 2 * 2 = 25: the tightest frame
    assert size == 25
    moved = set()
    for seed in range(200):
        centre, neighbour, label = sample_pair(size, size + 7, patch, gap, jitter,
                                               np.random.default_rng(seed))
        for top, left in (centre, neighbour):
            assert 0 <= top and top + patch <= size and 0 <= left and left + patch <= size + 7
        row, col = NEIGHBOURS[label]
        d_row, d_col = neighbour[0] - centre[0], neighbour[1] - centre[1]
        # each patch moves by at most the jitter: the offset by at most twice that
        assert abs(d_row - row * pitch) <= 2 * jitter and abs(d_col - col * pitch) <= 2 * jitter
        moved.add((d_row - row * pitch, d_col - col * pitch))
        # the centre cell's jittered corner is within the jitter of the grid's centre cell
        assert jitter + pitch - jitter <= centre[0] <= jitter + pitch + jitter
    assert len(moved) > 10  # the jitter varies


def test_lightness_of_known_colours():
    """L of white is 100 -> 255, of black 0 -> 0; sRGB grey 128: linear 0.2158, L = 116 *
    0.2158^(1/3) - 16 = 53.59 -> 53.59 * 2.55 = 136.6 -> 137."""
    rgb = np.array([[[255, 255, 255], [0, 0, 0], [128, 128, 128]]], np.uint8)
    assert lightness(rgb).tolist() == [[255, 0, 137]]


def test_bin_targets_of_a_known_colour():
    """Pure red is Lab (53.2, 80.1, 67.2): its nearest grid-10 point is ab (80, 70), the cell
    with a-index (80 + 110) / 10 = 19 and b-index (70 + 110) / 10 = 18, i.e. 19 * 23 + 18 =
    455. Blue is (32.3, 79.2, -107.9): (80, -110), cell 19 * 23 + 0 = 437."""
    bins = ab_bins(10.0)
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    targets = bin_targets(red, 4)
    assert targets.shape == (4, 4) and targets.dtype == np.int64
    assert set(bins[targets].ravel().tolist()) == {455}
    assert cell_of(np.array([80.0, 70.0]), 10.0) == 455
    # left half red, right half blue, on a 2 x 2 grid: each cell averages one colour
    half = red.copy()
    half[:, 4:] = (0, 0, 255)
    assert bins[bin_targets(half, 2)].tolist() == [[455, 437], [455, 437]]


def test_colorization_example_ignores_every_target_of_a_black_and_white_frame():
    rng = np.random.default_rng(0)
    spec = ColorizationSpec(size=16, target=4)
    grey = np.repeat(rng.integers(0, 256, (20, 24, 1), dtype=np.uint8), 3, axis=2)
    example = colorization_example(grey, spec, rng)
    assert example['lightness'].shape == (1, 16, 16)
    assert (example['bins'] == IGNORE_INDEX).all()
    colour = grey.copy()
    colour[:2, :2] = (255, 0, 0)  # one red corner gives the frame colour
    example = colorization_example(colour, spec, rng)
    assert (example['bins'] >= 0).all() and (example['bins'] < len(ab_bins(10.0))).all()


def textured(shape, rng):
    return rng.integers(0, 256, shape, dtype=np.uint8)


def smooth_background(size, rng):
    import cv2

    coarse = rng.uniform(60, 190, (4, 4, 3)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.uint8)


def test_moving_square_is_masked_and_the_still_background_is_not():
    """A 16-px noise-textured square moves 3 px to the right on a still background: the
    square's pixels (2 px in from its edges) move, the background 6 px away from both of its
    positions does not."""
    rng = np.random.default_rng(0)
    size, side, top, left, step = 64, 16, 24, 20, 3
    background = smooth_background(size, rng)
    square = textured((side, side, 3), rng)
    first, second = background.copy(), background.copy()
    first[top:top + side, left:left + side] = square
    second[top:top + side, left + step:left + step + side] = square
    mask = moving_pixels(first, second, threshold=1.0)
    assert mask.shape == (size, size) and mask.dtype == bool
    inner = mask[top + 2:top + side - 2, left + 2:left + side - 2]
    assert inner.mean() > 0.9
    far = np.ones((size, size), bool)
    far[top - 6:top + side + 6, left - 6:left + step + side + 6] = False
    assert mask[far].mean() < 0.02


def test_a_camera_pan_is_the_median_motion_and_not_moving():
    """The whole frame shifted by 2 px (a pan): every pixel's flow is about the median flow,
    so (away from the wrapped border) nothing is moving."""
    rng = np.random.default_rng(1)
    import cv2

    frame = cv2.GaussianBlur(textured((64, 64, 3), rng), (5, 5), 1.0)
    panned = np.roll(frame, 2, axis=1)
    mask = moving_pixels(frame, panned, threshold=1.0)
    assert mask[:, 8:-8].mean() < 0.02


def test_shrink_mask_by_hand():
    """A cell moves when more than half of its pixels do: the top-left 2 x 2 block is all
    moving (1), the top-right one has one moving pixel of four (0), the bottom-left three of
    four (1)."""
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    mask[0, 3] = True
    mask[2:, :2] = True
    mask[3, 1] = False
    assert shrink_mask(mask, 2).tolist() == [[1.0, 0.0], [1.0, 0.0]]
