"""BraVe: the loss against hand-computed values, stop-gradient, and learning."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from harness.registry import MODELS
from harness_brave.losses import brave_loss, normalized_mse
from harness_brave.model import BraVe


def t(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_normalized_mse_hand_values():
    assert normalized_mse(t([1, 0]), t([0, 1])).item() == pytest.approx(1.0)
    assert normalized_mse(t([3, 4]), t([4, 3])).item() == pytest.approx(1 - 24 / 25)
    assert normalized_mse(t([2, 0]), t([5, 0])).item() == pytest.approx(0.0)
    assert normalized_mse(t([1, 0]), t([-1, 0])).item() == pytest.approx(2.0)
    # batch mean of (1 - cos): rows give 1 and 0
    assert normalized_mse(t([1, 0], [0, 3]), t([0, 1], [0, 1])).item() == pytest.approx(0.5)


def test_brave_loss_is_mean_over_both_directions_and_views():
    z_n, p_n = t([1, 0]), t([0, 2])
    z_b, p_b = t([0, 1]), t([1, 1])
    # l(p_b, z_n) = 1 - 1/sqrt(2); l(p_n, z_b) = 0
    expected = (1 - 1 / math.sqrt(2)) / 2
    assert brave_loss(z_n, p_n, [z_b], [p_b]).item() == pytest.approx(expected)
    # a second broad view with p = (1, 0), z = (1, 0): l(p_b2, z_n) = 0, l(p_n, z_b2) = 1
    loss = brave_loss(z_n, p_n, [z_b, t([1, 0])], [p_b, t([1, 0])])
    assert loss.item() == pytest.approx((1 - 1 / math.sqrt(2) + 0 + 0 + 1) / 4)


def test_targets_are_stop_gradient():
    z_n = t([1.0, 0.5]).requires_grad_()
    p_n = t([0.2, 1.0]).requires_grad_()
    z_b = t([0.3, 1.0]).requires_grad_()
    p_b = t([1.0, 1.0]).requires_grad_()
    brave_loss(z_n, p_n, [z_b], [p_b]).backward()
    assert z_n.grad is None and z_b.grad is None  # projections only act as targets here
    assert p_n.grad.abs().sum() > 0 and p_b.grad.abs().sum() > 0


def test_brave_loss_rejects_missing_broad_views():
    with pytest.raises(ValueError):
        brave_loss(t([1, 0]), t([1, 0]), [], [])


@MODELS.register_module(force=True)
class TinyVideoNet(nn.Module):
    """A two-layer 3D conv net: fast enough for model-level tests."""

    feat_dim = 16

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.ReLU(),
                                  nn.Conv3d(8, 16, 3, stride=2, padding=1))

    def forward(self, x):
        return self.body(x)


def tiny_brave(**kwargs):
    return BraVe(backbone=dict(type='harness.TinyVideoNet'), feat_dim=16, hidden_dim=32,
                 proj_dim=8, **kwargs)


def test_model_has_separate_backbones_and_one_shared_head():
    model = tiny_brave()
    assert model.narrow_backbone is not model.broad_backbone
    narrow = {id(p) for p in model.narrow_backbone.parameters()}
    assert not narrow & {id(p) for p in model.broad_backbone.parameters()}
    assert not any(name.startswith(('target', 'ema', 'momentum'))
                   for name, _ in model.named_modules())
    exported = model.backbone_state_dict()
    assert exported.keys() == model.narrow_backbone.state_dict().keys()


def test_loss_falls_over_a_few_steps():
    torch.manual_seed(0)
    model = tiny_brave()
    inputs = {'narrow': torch.randn(6, 3, 4, 16, 16),
              'broad': [torch.randn(6, 3, 8, 12, 12), torch.randn(6, 3, 8, 12, 12)]}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        loss = model(inputs, mode='loss')['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.5 * losses[0], losses


def test_all_broad_views_share_the_broad_backbone(monkeypatch):
    model = tiny_brave()
    calls = []
    original = model.broad_backbone.forward
    monkeypatch.setattr(model.broad_backbone, 'forward',
                        lambda x: calls.append(x.shape) or original(x))
    broad = [torch.randn(2, 3, 8, 12, 12) for _ in range(3)]
    model({'narrow': torch.randn(2, 3, 4, 16, 16), 'broad': broad}, mode='loss')
    assert len(calls) == 3


def test_one_training_step_changes_both_backbones():
    from harness.testing import assert_trains

    model = tiny_brave()
    before = [p.detach().clone() for p in model.broad_backbone.parameters()]
    assert_trains(model, {'narrow': torch.randn(4, 3, 4, 16, 16),
                          'broad': [torch.randn(4, 3, 8, 12, 12)]})
    assert any(not torch.equal(a, b) for a, b in zip(before, model.broad_backbone.parameters()))
