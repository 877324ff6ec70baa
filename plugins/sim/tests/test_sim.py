"""SiameseIM: the relative-position grid on hand-worked crops and flips, the position codes, the
block mask, UniGrad's F matrix and both terms against hand values (and across two processes),
and the model's frozen parts, its use of the relative positions and a falling loss."""
from __future__ import annotations

import math

import pytest
import torch

from harness.testing import run_two_processes
from harness_sim.geometry import (block_mask, grid_code, relative_code, relative_grid,
                                  sincos)
from harness_sim.losses import token_correlation, unigrad

FULL = torch.tensor([[0.0, 0.0, 1.0, 1.0]])


def test_relative_grid_hand_worked_crop_and_flip():
    """View 1 is the whole image, unflipped, 2 x 2 patches (centres at 0.25 and 0.75, i.e.
    rows/cols 0 and 1). View 2 is the bottom-middle quarter (top 0.5, left 0.25, half height
    and width), flipped. Its patch (0, 0) is the crop's top-right quarter once flipped: centre
    y = 0.5 + 0.5 * 0.25 = 0.625, x = 0.25 + 0.5 * 0.75 = 0.625, i.e. 0.625 * 2 - 0.5 = 0.75
    in view 1's patch units; patch (0, 1): x = 0.375 -> 0.25; patch (1, 0): y = 0.875 -> 1.25."""
    box2 = torch.tensor([[0.5, 0.25, 0.5, 0.5]])
    where, scales = relative_grid(FULL, torch.tensor([False]), box2, torch.tensor([True]),
                                  (2, 2), (2, 2))
    expected = torch.tensor([[[0.75, 0.75], [0.75, 0.25], [1.25, 0.75], [1.25, 0.25]]])
    assert torch.allclose(where, expected)
    assert torch.allclose(scales, torch.tensor([[0.5, 0.5]]))
    # the same crops with view 1 flipped instead: columns counted from view 1's right edge
    where, _ = relative_grid(FULL, torch.tensor([True]), box2, torch.tensor([False]),
                             (2, 2), (2, 2))
    assert torch.allclose(where[0, :2], torch.tensor([[0.75, 1 - 0.25], [0.75, 1 - 0.75]]))
    # a view against itself sits on its own integer grid, at scale 1
    for flip in (False, True):
        box = torch.tensor([[0.1, 0.2, 0.5, 0.4]])
        where, scales = relative_grid(box, torch.tensor([flip]), box, torch.tensor([flip]),
                                      (3, 3), (3, 3))
        grid = torch.tensor([[r, c] for r in range(3) for c in range(3)], dtype=torch.float32)
        assert torch.allclose(where[0], grid, atol=1e-6)
        assert torch.allclose(scales, torch.ones(1, 2))


def test_relative_grid_equals_siameseims_offset_and_scale_form():
    """SiameseIM writes the grid as scale * (index + 0.5) + offset * G - 0.5 with offset =
    (top2 - top1) / h1 (and the width mirrored for a relative flip, flips before crops)."""
    torch.manual_seed(0)
    g = 4
    corners, sides = torch.rand(6, 2) * 0.5, 0.3 + torch.rand(6, 2) * 0.5
    boxes = torch.cat([corners, sides], 1)
    box1, box2 = boxes[:3], boxes[3:]
    where, scales = relative_grid(box1, torch.zeros(3, dtype=torch.bool), box2,
                                  torch.zeros(3, dtype=torch.bool), (g, g), (g, g))
    index = torch.arange(g, dtype=torch.float32) + 0.5
    rows = scales[:, :1] * index + (box2[:, :1] - box1[:, :1]) / box1[:, 2:3] * g - 0.5
    cols = scales[:, 1:] * index + (box2[:, 1:2] - box1[:, 1:2]) / box1[:, 3:4] * g - 0.5
    assert torch.allclose(where[..., 0].view(3, g, g)[:, :, 0], rows, atol=1e-5)
    assert torch.allclose(where[..., 1].view(3, g, g)[:, 0, :], cols, atol=1e-5)


def test_sincos_codes_hand_values():
    code = sincos(torch.tensor([0.0, 1.0]), 4)  # frequencies 1 and 1/100
    assert torch.allclose(code[0], torch.tensor([0.0, 0.0, 1.0, 1.0]))
    assert torch.allclose(code[1], torch.tensor([math.sin(1), math.sin(0.01), math.cos(1),
                                                 math.cos(0.01)]))
    grid = grid_code(2, 3, 8)
    assert grid.shape == (6, 8)
    assert torch.allclose(grid[5], torch.cat([sincos(torch.tensor(1.0), 4),
                                              sincos(torch.tensor(2.0), 4)]))
    # the relative code of integer positions at scale 1 starts with the grid code
    where = torch.tensor([[[r, c] for r in range(2) for c in range(3)]], dtype=torch.float32)
    rel = relative_code(where, torch.ones(1, 2), 8)
    assert rel.shape == (1, 6, 16)
    assert torch.allclose(rel[0, :, :8], grid, atol=1e-6)
    assert torch.allclose(rel[0, :, 8:], torch.cat([sincos(torch.zeros(6), 4)] * 2, 1))


def test_block_mask_masks_exactly_the_count_in_blocks():
    generator = torch.Generator().manual_seed(0)
    mask = block_mask(64, 14, 14, 118, min_block=16, generator=generator)
    assert mask.shape == (64, 196) and mask.dtype == torch.bool
    assert (mask.sum(1) == 118).all()
    # blocks, not scattered patches: far more masked neighbours than a random mask has
    grid = mask.view(64, 14, 14).float()
    same_right = (grid[:, :, 1:] * grid[:, :, :-1]).sum() / grid[:, :, :-1].sum()
    assert same_right > 0.75  # a random 60% mask gives about 0.6
    again = block_mask(64, 14, 14, 118, min_block=16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(mask, again)
    with pytest.raises(ValueError, match='keep at least one'):
        block_mask(1, 2, 2, 4)


def test_unigrad_correlation_and_both_terms_hand_values():
    """Z = [[1, 0], [1, 2]]: F = Z^T Z / 2 = [[1, 1], [1, 2]]. P = [[1, 1], [0, 1]]:
    positive = (0 + 1 + 1 + 1) / 2 = 1.5; p^T F p = 1 + 2 + 2 = 5 and 2, mean 3.5;
    loss = (1.5 + 0.02 * 3.5) / 2."""
    z = torch.tensor([[1.0, 0.0], [1.0, 2.0]])
    p = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    assert torch.equal(token_correlation(z), torch.tensor([[1.0, 1.0], [1.0, 2.0]]))
    p = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    assert unigrad(p, z, 0.0).item() == pytest.approx(1.5 / 2)
    assert unigrad(p, z, 0.02).item() == pytest.approx((1.5 + 0.02 * 3.5) / 2)
    assert unigrad(p, z, 1.0).item() == pytest.approx((1.5 + 3.5) / 2)
    # the gradient reaches the predictions only
    p.requires_grad_(True)
    unigrad(p, z).backward()
    assert p.grad is not None and not z.requires_grad


def _correlation_worker(rank, port, results):
    import torch.distributed as torch_dist

    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    z = torch.tensor([[1.0, 0.0]]) if rank == 0 else torch.tensor([[0.0, 2.0]])
    results[rank] = token_correlation(z).tolist()
    torch_dist.destroy_process_group()


def test_unigrad_correlation_is_averaged_over_processes():
    """F of rank 0 = diag(1, 0), of rank 1 = diag(0, 4): every process uses diag(0.5, 2)."""
    results = run_two_processes(_correlation_worker, start_method='fork')
    assert results[0] == results[1] == [[0.5, 0.0], [0.0, 2.0]]


@pytest.fixture(scope='module')
def sim_parts():
    from harness.plugins import PluginManager
    from harness.testing import build_method_model, random_view_inputs

    pm = PluginManager()
    method = pm.get('method', 'sim').info
    backbone = pm.get('backbone', 'vit-tiny8').info

    def build(**overrides):
        torch.manual_seed(0)
        model, cfg = build_method_model(method, backbone, **overrides)
        return model, random_view_inputs(cfg, batch_size=4)

    return build


def test_sim_freezes_patch_projection_and_fixes_sincos_positions(sim_parts):
    from harness.testing import assert_trains

    model, inputs = sim_parts()
    vit = model.backbone.vit
    assert not any(p.requires_grad for p in vit.patch_embed.parameters())
    assert not vit.pos_embed.requires_grad
    assert torch.allclose(vit.pos_embed[0, 1:], grid_code(7, 7, 192))
    assert torch.equal(vit.pos_embed[0, 0], torch.zeros(192))
    before = {k: v.clone() for k, v in model.target_backbone.state_dict().items()}
    assert_trains(model, inputs)
    model(inputs, mode='loss')  # the target moves at the next forward, towards the trained net
    after = model.target_backbone.state_dict()
    moved = {k for k in before if not torch.allclose(before[k], after[k], rtol=1e-5, atol=1e-7)}
    assert any(k.startswith('vit.blocks') for k in moved)  # the target follows the online net
    assert not moved & {'vit.pos_embed', 'vit.patch_embed.proj.weight',
                        'vit.patch_embed.proj.bias'}  # (up to the EMA's rounding)


def test_sim_predictions_depend_on_where_the_other_view_lies(sim_parts):
    model, inputs = sim_parts()
    model.eval()
    vit = model.backbone.vit
    geometry = inputs['geometry']
    torch.manual_seed(1)
    mask = torch.zeros(4, 49, dtype=torch.bool)
    mask[:, :20] = True
    tokens, grid = vit.patch_embed(inputs['view1']).flatten(1, 2), (7, 7)

    def predict(box2):
        where, scales = relative_grid(geometry['view1']['box'], geometry['view1']['flip'],
                                      box2, geometry['view2']['flip'], grid, grid)
        queries = model.decoder_pos_mlp(relative_code(where, scales, 192))
        with torch.no_grad():
            return model.online(tokens, grid, mask, queries)

    here = predict(geometry['view2']['box'])
    moved = geometry['view2']['box'].clone()
    moved[:, :2] = moved[:, :2] * 0.5
    assert here.shape == (4, 49, 192)
    assert not torch.allclose(here, predict(moved))


@pytest.mark.parametrize('target_view', ['other', 'same'])
def test_sim_loss_falls_over_a_few_steps(sim_parts, target_view):
    model, inputs = sim_parts(target_view=target_view, momentum=0.9)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(8):
        loss = model(inputs, mode='loss')['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses


def test_sim_needs_a_vit_backbone():
    from harness.registry import MODELS
    import harness_backbones.image  # noqa: F401
    import harness_sim.model  # noqa: F401

    with pytest.raises(ValueError, match='drives a timm ViT'):
        MODELS.build(dict(type='SiameseIM', backbone=dict(type='harness.ResNet18'),
                          feat_dim=512))
