"""The depth metrics on a hand-computed example, pooled over images, and the L1 loss."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness_nyueval.depth import METRICS, DepthErrorPool, depth_l1_loss, depth_metrics

# four valid pixels (and two invalid ones holding garbage)
GT = np.array([[1.0, 2.0, 0.0], [4.0, 0.5, -3.0]])
PRED = np.array([[1.2, 1.5, 100.0], [4.0, 1.0, np.nan]])
VALID = np.array([[True, True, False], [True, True, False]])


def test_depth_metrics_by_hand():
    # ratios max(d/d*, d*/d): 1.2 (in), 2/1.5 = 1.333 (out), 1.0 (in), 2.0 (out) -> 50 %
    # |d - d*| / d*: 0.2, 0.25, 0, 1.0 -> 1.45 / 4 = 0.3625
    # (d - d*)^2: 0.04, 0.25, 0, 0.25 -> 0.54 / 4 = 0.135, rmse = sqrt(0.135) = 0.36742...
    metrics = depth_metrics(PRED, GT, VALID)
    assert list(metrics) == list(METRICS)
    assert metrics['delta_1.25'] == 50.0
    assert metrics['abs_rel'] == pytest.approx(0.3625, abs=1e-12)
    assert metrics['rmse'] == pytest.approx(0.3674234614, abs=1e-9)
    from_torch = depth_metrics(torch.tensor(PRED), torch.tensor(GT), torch.tensor(VALID))
    assert from_torch == pytest.approx(metrics)


def test_pool_is_pooled_over_pixels_not_averaged_over_images():
    pool = DepthErrorPool()
    assert pool.add(PRED, GT, VALID) == 4
    assert pool.add(np.array([[1.0]]), np.array([[1.0]]), np.array([[True]])) == 1

    metrics = pool.metrics()

    # 3 of 5 pixels within (the per-image mean would be (50 + 100) / 2 = 75)
    assert metrics['delta_1.25'] == pytest.approx(60.0)
    assert metrics['abs_rel'] == pytest.approx(1.45 / 5, abs=1e-12)
    assert metrics['rmse'] == pytest.approx(math.sqrt(0.54 / 5), abs=1e-12)
    both = depth_metrics(np.array([1.2, 1.5, 4.0, 1.0, 1.0]), np.array([1.0, 2.0, 4.0, 0.5, 1.0]),
                         np.ones(5, bool))
    assert both == pytest.approx(metrics)


def test_ratio_boundary_and_non_positive_predictions():
    gt = np.array([1.0, 1.0, 1.0, 2.0])
    pred = np.array([1.25, 0.0, -1.0, 2.0 / 1.25 + 1e-9])
    metrics = depth_metrics(pred, gt, np.ones(4, bool))
    # 1.25 is not below 1.25; 0 and -1 are never within; 2 / 1.6... is just inside
    assert metrics['delta_1.25'] == 25.0
    assert metrics['abs_rel'] == pytest.approx((0.25 + 1.0 + 2.0 + abs(1.6 + 1e-9 - 2) / 2) / 4)


def test_bad_depth_is_refused():
    valid = np.ones(2, bool)
    with pytest.raises(ValueError, match='positive'):
        depth_metrics(np.ones(2), np.array([1.0, 0.0]), valid)
    with pytest.raises(ValueError, match='finite'):
        depth_metrics(np.array([1.0, np.inf]), np.ones(2), valid)
    with pytest.raises(ValueError, match='shape'):
        depth_metrics(np.ones(3), np.ones(2), valid)
    with pytest.raises(ValueError, match='no valid'):
        depth_metrics(np.ones(2), np.ones(2), np.zeros(2, bool))
    with pytest.raises(ValueError, match='no valid'):
        DepthErrorPool().metrics()


def test_l1_loss_by_hand_and_its_gradient():
    pred = torch.tensor(np.nan_to_num(PRED), requires_grad=True)
    loss = depth_l1_loss(pred, torch.tensor(GT), torch.tensor(VALID))
    # |0.2| + |-0.5| + 0 + |0.5| over 4 valid pixels
    assert loss.item() == pytest.approx(0.3, abs=1e-12)
    loss.backward()
    expected = np.array([[0.25, -0.25, 0.0], [0.0, 0.25, 0.0]])  # sign / 4; 0 where masked
    np.testing.assert_allclose(pred.grad.numpy(), expected)

    none = depth_l1_loss(pred, torch.tensor(GT), torch.zeros(2, 3, dtype=torch.bool))
    assert none.item() == 0.0
    none.backward()
