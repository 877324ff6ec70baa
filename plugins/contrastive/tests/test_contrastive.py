"""MoCo v2, BYOL, SimSiam, SimCLR: losses against hand values, the queue, the momentum update."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from harness.modules import momentum_update
from harness.registry import MODELS
from harness_contrastive.losses import (byol_regression, info_nce, negative_cosine, nt_xent,
                                        symmetric_key_contrast)
from harness_contrastive.models import BYOL, MoCo, MoCoV3, SimCLR, SimSiam


def test_info_nce_with_a_queue_hand_value():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0]])  # q.k = 1
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])  # q.n = 0, -1
    t = 0.5
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(0) + math.exp(-2)))
    assert info_nce(q, k, queue, t).item() == pytest.approx(expected)


def test_nt_xent_hand_value():
    """Two images: z1 = (e1, e2), z2 = (e1, -e2). Anchor 0 (e1): positive 2 (e1, cos 1),
    negatives 1 (e2, cos 0) and 3 (-e2, cos 0); anchor 1 (e2): positive 3 (cos -1), negatives
    0 and 2 (cos 0). Anchors 2 and 3 mirror 0 and 1."""
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[2.0, 0.0], [0.0, -3.0]])  # lengths do not matter
    t = 0.5
    aligned = -math.log(math.exp(2) / (math.exp(2) + 2))
    opposed = -math.log(math.exp(-2) / (math.exp(-2) + 2))
    assert nt_xent(z1, z2, t).item() == pytest.approx((aligned + opposed) / 2)
    # an extra negative equal to e1 adds exp(2) to anchor 0's and 2's denominators, 1 to 1's, 3's
    extra = torch.tensor([[1.0, 0.0]])
    aligned_x = -math.log(math.exp(2) / (2 * math.exp(2) + 2))
    opposed_x = -math.log(math.exp(-2) / (math.exp(-2) + 3))
    assert nt_xent(z1, z2, t, extra).item() == pytest.approx((aligned_x + opposed_x) / 2)


def test_moco_v3_contrast_hand_value():
    """q = (e1, e2), k = (e1, -e2) at t = 0.5: row 0 logits (2, 0), positive first; row 1
    logits (0, -2), positive second; times 2t = 1."""
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[3.0, 0.0], [0.0, -1.0]])
    row0 = -math.log(math.exp(2) / (math.exp(2) + 1))
    row1 = -math.log(math.exp(-2) / (1 + math.exp(-2)))
    assert symmetric_key_contrast(q, k, 0.5).item() == pytest.approx((row0 + row1) / 2)
    # keys of another process only add negatives
    more = symmetric_key_contrast(q, torch.cat([k, torch.tensor([[1.0, 0.0]])]), 0.5)
    assert more.item() > symmetric_key_contrast(q, k, 0.5).item()


def test_info_nce_falls_as_negatives_move_away():
    q = torch.tensor([[1.0, 0.0]])
    near = info_nce(q, q, torch.tensor([[0.8, 0.6]]), 0.2)
    far = info_nce(q, q, torch.tensor([[-0.8, 0.6]]), 0.2)
    assert far < near


def test_byol_and_simsiam_hand_values_and_stop_gradient():
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
    z = torch.tensor([[0.0, 1.0], [0.0, 3.0]], requires_grad=True)  # cos 0 and 1
    assert negative_cosine(p, z).item() == pytest.approx(-0.5)
    loss = byol_regression(p, z)
    assert loss.item() == pytest.approx(2 - 2 * 0.5)
    loss.backward()
    assert z.grad is None and p.grad is not None


def test_momentum_update_moves_target_towards_online():
    online, target = nn.Linear(2, 1), nn.Linear(2, 1)
    with torch.no_grad():
        online.weight.fill_(1.0)
        target.weight.fill_(0.0)
    momentum_update(online, target, 0.9)
    assert torch.allclose(target.weight, torch.full_like(target.weight, 0.1))


@MODELS.register_module(force=True)
class TinyPairNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv3d(3, 8, 3, stride=2, padding=1)

    def forward(self, x):
        return self.body(x)


def views(n=4):
    return {'view1': torch.randn(n, 3, 4, 8, 8), 'view2': torch.randn(n, 3, 4, 8, 8)}


def test_moco_queue_is_a_ring_buffer_of_keys():
    model = MoCo(backbone=dict(type='harness.TinyPairNet'), feat_dim=8, hidden_dim=16, dim=4,
                 queue_size=6, momentum=0.9)
    model(views(4))
    assert model.queue_ptr.item() == 4
    model(views(4))
    assert model.queue_ptr.item() == 2  # wrapped around
    assert torch.allclose(model.queue.norm(dim=1), torch.ones(6))
    assert not any(p.requires_grad for p in model.key_backbone.parameters())


@pytest.mark.parametrize('cls', [BYOL, SimSiam, SimCLR, MoCoV3])
def test_loss_falls_over_a_few_steps(cls):
    torch.manual_seed(0)
    model = cls(backbone=dict(type='harness.TinyPairNet'), feat_dim=8, hidden_dim=16, dim=8)
    inputs = views(8)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(30):
        loss = model(inputs)['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.1, losses


def test_moco_learns_to_tell_instances_apart():
    """Fresh clips every step, the second view a noisy copy of the first: once the queue holds
    real keys (after 4 steps), InfoNCE falls."""
    torch.manual_seed(0)
    model = MoCo(backbone=dict(type='harness.TinyPairNet'), feat_dim=8, hidden_dim=32, dim=16,
                 queue_size=64, momentum=0.9)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(60):
        x = torch.randn(16, 3, 4, 8, 8)
        loss = model({'view1': x, 'view2': x + 0.1 * torch.randn_like(x)})['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < sum(losses[5:10]) / 5 - 0.3, losses
