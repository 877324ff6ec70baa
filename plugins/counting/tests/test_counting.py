"""Learning to Count: the loss against hand-computed values, the tiles and the per-sample
downsampling, non-negative counts, and learning."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from harness.registry import MODELS
from harness_counting.losses import counting_loss, counting_terms
from harness_counting.model import (INTERPOLATIONS, Counting, downsample, pad_to,
                                    quadrant_tiles)


def t(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_loss_hand_values_first_term_zero_hinge_active():
    down_x = t([1, 2])
    tiles_x = t([[0, 1], [1, 0], [0, 0], [0, 1]])  # [1, 4, 2], sum (1, 2) = down_x
    down_y = t([4, 2])  # ||(4, 2) - (1, 2)||^2 = 9 < 10: hinge 1
    equivariance, hinge = counting_terms(down_x, tiles_x, down_y, margin=10.0)
    assert equivariance.tolist() == [0.0] and hinge.tolist() == [1.0]
    assert counting_loss(down_x, tiles_x, down_y).item() == pytest.approx(1.0)


def test_loss_hand_values_hinge_inactive():
    down_x = t([3, 0])
    tiles_x = t([[1, 2], [0, 0], [0, 0], [0, 0]])  # [1, 4, 2], sum (1, 2)
    down_y = t([5, 2])  # ||(5, 2) - (1, 2)||^2 = 16 >= 10: hinge 0
    # ||(3, 0) - (1, 2)||^2 = 8
    assert counting_loss(down_x, tiles_x, down_y).item() == pytest.approx(8.0)
    # the margin is the hinge's threshold: at M = 20, 20 - 16 = 4
    assert counting_loss(down_x, tiles_x, down_y, margin=20.0).item() == pytest.approx(12.0)


def test_loss_is_the_batch_mean_and_the_weight_scales_only_the_hinge():
    down_x = t([1, 2], [3, 0])
    tiles_x = t([[0, 1], [1, 0], [0, 0], [0, 1]], [[1, 2], [0, 0], [0, 0], [0, 0]])
    down_y = t([4, 2], [5, 2])
    # rows: 0 + 1 and 8 + 0
    assert counting_loss(down_x, tiles_x, down_y).item() == pytest.approx(4.5)
    assert counting_loss(down_x, tiles_x, down_y, contrastive_weight=0.0).item() == \
        pytest.approx(4.0)
    assert counting_loss(down_x, tiles_x, down_y, contrastive_weight=2.0).item() == \
        pytest.approx(5.0)
    # all zero counts: the first term is 0 and the hinge is the whole margin
    zeros = torch.zeros(2, 3)
    assert counting_loss(zeros, torch.zeros(2, 4, 3), zeros).item() == pytest.approx(10.0)
    assert counting_loss(zeros, torch.zeros(2, 4, 3), zeros,
                         contrastive_weight=0.0).item() == 0.0


def test_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match='down_x'):
        counting_terms(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError):
        counting_terms(torch.zeros(2, 3), torch.zeros(2, 4, 3), torch.zeros(1, 3))


def test_tiles_are_exactly_the_quadrants():
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6)
    tiles = quadrant_tiles(images)
    assert tiles.shape == (2, 4, 3, 3, 3)
    assert torch.equal(tiles[:, 0], images[..., :3, :3])
    assert torch.equal(tiles[:, 1], images[..., :3, 3:])
    assert torch.equal(tiles[:, 2], images[..., 3:, :3])
    assert torch.equal(tiles[:, 3], images[..., 3:, 3:])
    # together they are the image
    top = torch.cat([tiles[:, 0], tiles[:, 1]], dim=-1)
    bottom = torch.cat([tiles[:, 2], tiles[:, 3]], dim=-1)
    assert torch.equal(torch.cat([top, bottom], dim=-2), images)


@MODELS.register_module(force=True)
class TinyCountingNet(nn.Module):
    """Two convolutions: fast enough for model-level tests."""

    feat_dim = 16

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 16, 3, stride=2, padding=1))

    def forward(self, x):
        return self.body(x)


def tiny_counting(**kwargs):
    kwargs = {'hidden_dim': 32, 'num_counts': 8, 'tile_size': 8, **kwargs}
    return Counting(backbone=dict(type='harness.TinyCountingNet'), feat_dim=16, **kwargs)


def test_views_give_the_tiles_and_a_downsampled_copy_of_the_tile_size():
    model = tiny_counting()
    crop = torch.randn(3, 3, 16, 16)
    down, tiles, choice = model.views(crop, torch.Generator().manual_seed(0))
    assert down.shape == (3, 3, 8, 8) and tiles.shape == (3, 4, 3, 8, 8)
    assert torch.equal(tiles, quadrant_tiles(crop))
    assert choice.shape == (3,) and set(choice.tolist()) <= set(range(4))


def test_interpolation_is_chosen_per_sample():
    model = tiny_counting(interpolations=('nearest', 'bilinear'), tile_size=6)
    crop = torch.randn(16, 3, 12, 12)
    down, _, choice = model.views(crop, torch.Generator().manual_seed(0))
    assert set(choice.tolist()) == {0, 1}  # both methods in one batch
    for i, k in enumerate(choice.tolist()):
        name = model.interpolations[k]
        expected = F.interpolate(crop[i:i + 1], size=(6, 6), **INTERPOLATIONS[name])
        torch.testing.assert_close(down[i:i + 1], expected, rtol=0, atol=1e-6)
    # the two methods differ, so the check above tells them apart
    assert not torch.allclose(F.interpolate(crop, size=(6, 6), **INTERPOLATIONS['nearest']),
                              F.interpolate(crop, size=(6, 6), **INTERPOLATIONS['bilinear']))
    # the same generator state gives the same choice
    again = model.views(crop, torch.Generator().manual_seed(0))[2]
    assert torch.equal(again, choice)


def test_downsample_every_method_and_the_choice_set_is_checked():
    images = torch.rand(len(INTERPOLATIONS), 3, 8, 8)
    names = tuple(INTERPOLATIONS)
    out = downsample(images, 4, names, torch.arange(len(names)))
    for i, name in enumerate(names):
        torch.testing.assert_close(out[i:i + 1], F.interpolate(
            images[i:i + 1], size=(4, 4), **INTERPOLATIONS[name]), rtol=0, atol=1e-6)
    # area of a 2x reduction is the 2x2 mean; nearest takes the top-left pixel
    torch.testing.assert_close(out[names.index('area')], F.avg_pool2d(images[names.index(
        'area')], 2))
    assert torch.equal(out[names.index('nearest')], images[names.index('nearest')][:, ::2, ::2])
    with pytest.raises(ValueError, match='lanczos'):
        tiny_counting(interpolations=('bilinear', 'lanczos'))
    with pytest.raises(ValueError):
        tiny_counting(interpolations=())


def test_counts_are_non_negative():
    torch.manual_seed(0)
    model = tiny_counting(num_counts=64)
    counts = model.counts(torch.randn(8, 3, 8, 8))
    assert counts.shape == (8, 64)
    assert (counts >= 0).all() and (counts > 0).any()


def test_loss_mode_terms_sum_to_the_loss_and_tensor_mode_gives_features():
    torch.manual_seed(0)
    model = tiny_counting()
    crop = torch.randn(4, 3, 16, 16)
    assert set(model({'crop': crop})) == {'loss_equivariance', 'loss_contrastive'}
    # the model runs one backbone pass over the 5N images, whose BN statistics differ from
    # separate passes': compare in eval mode
    model.eval()
    torch.manual_seed(1)
    losses = model({'crop': crop}, mode='loss')
    torch.manual_seed(1)
    down, tiles, _ = model.views(crop)
    down_x, tiles_x = model.counts(down), model.counts(tiles.flatten(0, 1)).view(4, 4, -1)
    expected = counting_loss(down_x, tiles_x, down_x.roll(1, 0))
    torch.testing.assert_close(sum(losses.values()), expected)
    assert model({'crop': crop}, mode='tensor').shape == (4, 16)
    off = tiny_counting(contrastive_weight=0.0)
    assert off({'crop': crop})['loss_contrastive'].item() == 0.0
    with pytest.raises(ValueError, match='predict'):
        model({'crop': crop}, mode='predict')


def test_small_inputs_are_padded_for_a_backbone_that_needs_a_minimum_size():
    images = torch.randn(2, 3, 8, 8)
    padded = pad_to(images, 35)
    assert padded.shape == (2, 3, 35, 35)
    assert torch.equal(padded[..., 13:21, 13:21], images)
    assert padded.abs().sum().item() == pytest.approx(images.abs().sum().item())
    assert pad_to(images, 8) is images and pad_to(images, 0) is images
    from harness_backbones.image import AlexNetBN  # noqa: F401  (registers harness.AlexNetBN)

    model = Counting(backbone=dict(type='harness.AlexNetBN'), feat_dim=256, tile_size=8,
                     hidden_dim=16, num_counts=8, min_input_size=35)
    losses = model({'crop': torch.randn(2, 3, 16, 16)})  # 8-pixel tiles, padded
    assert all(torch.isfinite(v) for v in losses.values())


def test_loss_falls_over_a_few_steps():
    torch.manual_seed(0)
    # one downsampling method, so the loss moves with the training only
    model = tiny_counting(interpolations=('area',))
    crop = torch.randn(8, 3, 16, 16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(50):
        loss = sum(model({'crop': crop}).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.6 * first, (first, last)


def test_backbone_state_dict_is_the_backbone_only():
    model = tiny_counting()
    exported = model.backbone_state_dict()
    assert set(exported) == set(model.backbone.state_dict())
    assert not any(key.startswith('head') for key in exported)


def test_fc6_reads_the_flattened_conv5_map_of_a_tile():
    """As in the paper, fc6 takes AlexNet-BN's conv5 map (after pool5) flattened: 256 x 3 x 3
    for the paper's 114-pixel tiles, 256 x 1 x 1 for the demo's 36; a tile of another size
    is refused."""
    from harness_backbones.image import AlexNetBN  # noqa: F401  (registers harness.AlexNetBN)

    torch.manual_seed(0)
    paper = Counting(backbone=dict(type='harness.AlexNetBN'), feat_dim=256, tile_size=114,
                     hidden_dim=16, num_counts=8)
    assert paper.map_shape == (256, 3, 3) and paper.head[0].in_features == 2304
    assert paper.counts(torch.randn(2, 3, 114, 114)).shape == (2, 8)
    with pytest.raises(ValueError, match=r'tile_size=114'):
        paper.counts(torch.randn(2, 3, 64, 64))
    demo = Counting(backbone=dict(type='harness.AlexNetBN'), feat_dim=256, tile_size=36,
                    hidden_dim=16, num_counts=8)
    assert demo.head[0].in_features == 256
    padded = Counting(backbone=dict(type='harness.AlexNetBN'), feat_dim=256, tile_size=8,
                      hidden_dim=16, num_counts=8, min_input_size=35)
    assert padded.head[0].in_features == 256  # 8-pixel tiles padded to 35: a 1 x 1 map


def test_where_a_feature_lies_in_the_tile_changes_the_counts():
    """Flattening keeps the map's layout: the same conv5 values at other places (a map with
    the same global average) give other counts; pooling would give the same."""
    torch.manual_seed(0)
    model = tiny_counting(tile_size=8).eval()
    assert model.map_shape == (16, 4, 4) and model.head[0].in_features == 256
    tile = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        maps = model.backbone(tile)
        moved = maps.flip(-1)  # each channel's values mirrored: the same mean
        torch.testing.assert_close(moved.mean((-2, -1)), maps.mean((-2, -1)))
        assert not torch.allclose(model.head(moved.flatten(1)), model.head(maps.flatten(1)))
        torch.testing.assert_close(model.counts(tile), model.head(maps.flatten(1)))
