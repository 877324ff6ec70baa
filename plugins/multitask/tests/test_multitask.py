"""Multi-task SSL: each task's loss and the lasso penalty against hand-computed values, and the
colorization bins."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness_multitask.colour import ab_bins, ab_targets, cell_of
from harness_multitask.lasso import LayerCombination, lasso_penalty
from harness_multitask.losses import (colorization_loss, exemplar_loss,
                                      motion_segmentation_loss, relative_position_loss)


def test_relative_position_loss_by_hand():
    """Uniform logits: -ln(1/8) whatever the label; a logit of ln 7 on the label (others 0):
    p = 7 / (7 + 7) = 1/2, so ln 2."""
    assert float(relative_position_loss(torch.zeros(3, 8), torch.tensor([0, 3, 7]))) == \
        pytest.approx(math.log(8))
    logits = torch.zeros(1, 8)
    logits[0, 5] = math.log(7)
    assert float(relative_position_loss(logits, torch.tensor([5]))) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match=r'\[N, 8\]'):
        relative_position_loss(torch.zeros(2, 9), torch.tensor([0, 1]))


def test_colorization_loss_by_hand_ignores_pixels_without_a_target():
    """Two bins with logits 0 and ln 3: p = 1/4 and 3/4. Pixel targets 0, 1, ignored, 1:
    mean of -ln(1/4), -ln(3/4), -ln(3/4)."""
    logits = torch.zeros(1, 2, 2, 2)
    logits[:, 1] = math.log(3)
    bins = torch.tensor([[[0, 1], [-1, 1]]])
    expected = (math.log(4) + 2 * math.log(4 / 3)) / 3
    assert float(colorization_loss(logits, bins)) == pytest.approx(expected)
    assert float(colorization_loss(logits, torch.full((1, 2, 2), -1))) == 0.0


def test_exemplar_loss_by_hand():
    """Image 0's two augmentations at 0 degrees, image 1's at 45: d(a, p) = 0, d(a, n) =
    1 - cos 45; margin 0.5: each of the 8 triplets (4 anchors x 2 negatives) costs
    0.5 - (1 - cos 45) = 0.2071. With image 1 at 90 degrees no triplet violates the margin."""
    def at(*degrees):
        return torch.tensor([[math.cos(math.radians(d)), math.sin(math.radians(d))]
                             for d in degrees])
    expected = 0.5 - (1 - math.cos(math.radians(45)))
    assert float(exemplar_loss(at(0, 0, 45, 45), margin=0.5)) == pytest.approx(expected, abs=1e-6)
    assert float(exemplar_loss(at(0, 0, 90, 90), margin=0.5)) == 0.0
    # twins 30 degrees apart (d = 1 - cos 30), the other image at 90: anchor 0 vs 90 and 90:
    # max(0, (1 - cos 30) - 1 + 0.5); anchor 30 vs 90: d = 1 - cos 60 = 0.5 -> (1 - cos 30) - 0.5
    # + 0.5; image 1's anchors (both at 90): positive d = 0, negatives 0 (d 1) and 30 (d 0.5)
    d_p = 1 - math.cos(math.radians(30))
    costs = [max(0, d_p - 1 + 0.5)] * 2 + [max(0, d_p - 0.5 + 0.5)] * 2 + \
        [max(0, 0 - 1 + 0.5), max(0, 0 - 0.5 + 0.5)] * 2
    assert float(exemplar_loss(at(0, 30, 90, 90), margin=0.5)) == pytest.approx(
        sum(costs) / 8, abs=1e-6)


def test_motion_segmentation_loss_by_hand():
    """Logit 0 costs ln 2 whatever the mask; logit ln 3 costs -ln(3/4) on a moving pixel and
    -ln(1/4) on a still one; invalid pixels do not count."""
    assert float(motion_segmentation_loss(torch.zeros(2, 1, 3, 3), torch.ones(2, 3, 3))) == \
        pytest.approx(math.log(2))
    logits = torch.full((1, 1, 1, 3), math.log(3))
    masks = torch.tensor([[[1.0, 0.0, 0.0]]])
    valid = torch.tensor([[[True, True, False]]])
    expected = (math.log(4 / 3) + math.log(4)) / 2
    assert float(motion_segmentation_loss(logits, masks, valid)) == pytest.approx(expected)


def test_lasso_penalty_by_hand_and_the_combination_it_acts_on():
    weights = torch.tensor([[1.0, -2.0], [0.0, 0.5]], requires_grad=True)
    penalty = lasso_penalty(weights, 0.1)
    assert float(penalty.detach()) == pytest.approx(0.35)
    penalty.backward()
    assert torch.allclose(weights.grad, torch.tensor([[0.1, -0.1], [0.0, 0.1]]))  # sign * 0.1
    combine = LayerCombination(('rp', 'colour'), layers=2)
    maps = [torch.full((1, 1, 2, 2), 3.0), torch.full((1, 1, 2, 2), 5.0)]
    assert torch.equal(combine(maps, 'colour'), maps[1])  # 'last': the top layer only
    with torch.no_grad():
        combine.weights[0] = torch.tensor([0.5, 0.25])
    assert torch.allclose(combine(maps, 'rp'), torch.full((1, 1, 2, 2), 2.75))
    assert float(combine.penalty(1.0).detach()) == pytest.approx(0.75 + 1.0)


def test_colour_bins_cover_the_srgb_gamut_and_grey_is_the_centre_cell():
    bins = ab_bins(10.0)
    assert 250 < len(bins) < 400  # Zhang et al. count 313 in-gamut cells of size 10
    grey = np.full((2, 2, 3), 128, np.uint8)
    (index,) = np.unique(ab_targets(grey))
    assert bins[index] == cell_of(np.zeros(2), 10.0)
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 0] = 255
    cell = bins[ab_targets(red)[0, 0]]
    points = 23  # -110, -100, ..., 110
    assert cell // points > points // 2  # a > 0: red
