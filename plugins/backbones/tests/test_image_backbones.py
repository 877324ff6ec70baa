"""The image backbones: output maps of their registered width, ViTs at any size, and ResNet
weights that load into mmdet's own ResNet by key."""
from __future__ import annotations

import pytest
import torch

import harness_backbones.image  # noqa: F401  (registers the classes)
from harness.plugins import PluginManager
from harness.registry import MODELS

IMAGE_BACKBONES = [e.info for e in PluginManager().components['backbone'].values()
                   if e.info.modality == 'image']
# output side at 64 px input: stride 32 for the CNNs (AlexNet's ceil-mode pools leave 1),
# 16 for the ViTs
SIDE_AT_64 = {'resnet18': 2, 'resnet50': 2, 'resnet18-slim': 2, 'vgg16': 2, 'alexnet-bn': 1,
              'vit-s16': 4, 'vit-b16': 4, 'vit-tiny8': 8}


def test_every_image_backbone_has_an_expected_side():
    assert sorted(SIDE_AT_64) == sorted(b.name for b in IMAGE_BACKBONES)


@pytest.mark.parametrize('info', IMAGE_BACKBONES, ids=[b.name for b in IMAGE_BACKBONES])
def test_image_backbone_maps_images_to_its_feature_width(info):
    torch.manual_seed(0)
    net = MODELS.build(dict(info.cfg)).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 64, 64))
    side = SIDE_AT_64[info.name]
    assert out.shape == (2, info.feat_dim, side, side)
    assert torch.isfinite(out).all() and out.std() > 0


def test_vit_takes_any_multiple_of_its_patch_and_keeps_timm_names():
    net = MODELS.build(dict(type='harness.ViTS16')).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 48, 80)).shape == (1, 384, 3, 5)
    keys = set(net.state_dict())
    assert {'vit.cls_token', 'vit.pos_embed', 'vit.patch_embed.proj.weight',
            'vit.blocks.11.attn.qkv.weight', 'vit.norm.weight'} <= keys
    assert not any(key.startswith(('vit.head', 'vit.fc_norm')) for key in keys)


@pytest.mark.parametrize('name,depth', [('ResNet18', 18), ('ResNet50', 50)])
def test_resnet_weights_load_into_mmdets_resnet_by_key(name, depth):
    from mmdet.models.backbones import ResNet as MMDetResNet

    torch.manual_seed(0)
    ours = MODELS.build(dict(type=f'harness.{name}'))
    theirs = MMDetResNet(depth=depth, style='pytorch')
    missing, unexpected = theirs.load_state_dict(ours.state_dict(), strict=True)
    assert not missing and not unexpected
    ours.eval(), theirs.eval()
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(theirs(images)[-1], ours(images), atol=1e-5)
